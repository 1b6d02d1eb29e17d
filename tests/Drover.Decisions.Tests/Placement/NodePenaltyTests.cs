using Drover.Decisions.Placement;

namespace Drover.Decisions.Tests.Placement;

public sealed class NodePenaltyTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);

    /// <summary>Rows: the memory before (node=seconds left), seconds since, nodes failed now; the memory after.</summary>
    [Theory]
    [InlineData("", 0, "", "")]
    [InlineData("", 5, "a", "a=60")]
    [InlineData("a=60", 10, "", "a=50")]
    [InlineData("a=60", 59.999, "", "a=0.001")]
    [InlineData("a=60", 60, "", "")]
    [InlineData("a=60", 61, "", "")]
    [InlineData("a=30", 10, "a", "a=60")]
    [InlineData("a=30,b=5", 10, "c", "a=20,c=60")]
    [InlineData("a=30", -5, "", "a=30")]
    [InlineData("", 0, "a,a", "a=60")]
    public void Advance_Cases(string before, double seconds, string failed, string after)
    {
        var next = NodePenalty.Advance(Parse(before), TimeSpan.FromSeconds(seconds), failed.Length == 0 ? [] : failed.Split(','), Duration);

        Assert.Equal(Parse(after).OrderBy(p => p.Key, StringComparer.Ordinal), next.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Advance_LongerPenaltyThanTheDuration_IsNotShortenedByAFailure()
    {
        var next = NodePenalty.Advance(Parse("a=120"), TimeSpan.Zero, ["a"], Duration);

        Assert.Equal(TimeSpan.FromSeconds(120), next["a"]);
    }

    [Fact]
    public void Advance_ManySmallSteps_EndsExactlyAtTheDuration()
    {
        var memory = NodePenalty.Advance(NodePenalty.None, TimeSpan.Zero, ["a"], Duration);
        for (var i = 0; i < 599; i++)
        {
            memory = NodePenalty.Advance(memory, TimeSpan.FromMilliseconds(100), [], Duration);
            Assert.True(memory.ContainsKey("a"), $"gone after {(i + 1) * 100} ms");
        }

        Assert.Empty(NodePenalty.Advance(memory, TimeSpan.FromMilliseconds(100), [], Duration));
    }

    private static Dictionary<string, TimeSpan> Parse(string memory)
        => memory.Length == 0
            ? new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
            : memory.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => TimeSpan.FromSeconds(double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)), StringComparer.Ordinal);
}
