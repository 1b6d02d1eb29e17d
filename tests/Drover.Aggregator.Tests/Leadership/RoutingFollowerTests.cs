using Drover.Aggregator.Leadership;

namespace Drover.Aggregator.Tests.Leadership;

public sealed class RoutingFollowerTests
{
    /// <summary>Rows: the published (term, version), the applied one (null: none yet); whether the published one is taken.</summary>
    [Theory]
    [InlineData(1L, 1L, null, null, true)]
    [InlineData(0L, 0L, null, null, true)]
    [InlineData(1L, 5L, 1L, 4L, true)]
    [InlineData(1L, 4L, 1L, 4L, false)]
    [InlineData(1L, 3L, 1L, 4L, false)]
    [InlineData(2L, 1L, 1L, 9L, true)]
    [InlineData(1L, 9L, 2L, 1L, false)]
    public void Newer_Cases(long term, long version, long? appliedTerm, long? appliedVersion, bool newer)
    {
        (long, long)? applied = appliedTerm is { } t ? (t, appliedVersion!.Value) : null;

        Assert.Equal(newer, RoutingFollower.Newer((term, version), applied));
    }
}
