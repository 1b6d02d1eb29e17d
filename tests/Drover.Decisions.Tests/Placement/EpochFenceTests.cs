using Drover.Decisions.Placement;

namespace Drover.Decisions.Tests.Placement;

public class EpochFenceTests
{
    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(5, 0, false)]
    [InlineData(0, 5, false)]
    [InlineData(5, 5, false)]
    [InlineData(5, 6, false)]
    [InlineData(5, 4, true)]
    [InlineData(2, 1, true)]
    public void Check_SentAgainstCurrent_FencedOnlyWhenOlderAndBothKnown(long current, long sent, bool fenced)
    {
        var reason = EpochFence.Check("fn-a-1", current, sent);

        Assert.Equal(fenced, reason is not null);
        if (fenced)
        {
            Assert.Contains($"epoch {sent}", reason, StringComparison.Ordinal);
            Assert.Contains($"(epoch {current})", reason, StringComparison.Ordinal);
        }
    }
}
