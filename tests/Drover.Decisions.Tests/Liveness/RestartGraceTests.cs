using Drover.Decisions.Liveness;

namespace Drover.Decisions.Tests.Liveness;

public sealed class RestartGraceTests
{
    /// <summary>Rows: loaded nodes, known nodes, seconds since the load, grace; the nodes awaited.</summary>
    [Theory]
    [InlineData(new[] { "a", "b" }, new[] { "b" }, 5, 15, new[] { "a" })]
    [InlineData(new[] { "a", "b" }, new string[0], 0, 15, new[] { "a", "b" })]
    [InlineData(new[] { "a", "b" }, new string[0], 15, 15, new string[0])]
    [InlineData(new[] { "a" }, new[] { "a" }, 1, 15, new string[0])]
    [InlineData(new string[0], new string[0], 1, 15, new string[0])]
    [InlineData(new[] { "c1", "c2" }, new[] { "c2", "c3" }, 14.999, 15, new[] { "c1" })]
    public void Awaited_LoadedNotBackWithinTheGrace_AwaitedThenNot(string[] loaded, string[] known, double secondsSinceLoad, int graceSeconds, string[] expected)
    {
        var awaited = RestartGrace.Awaited(loaded, known, TimeSpan.FromSeconds(secondsSinceLoad), TimeSpan.FromSeconds(graceSeconds));

        Assert.Equal(expected, awaited.Order(StringComparer.Ordinal));
    }

    /// <summary>Rows: configured seconds, lease seconds; the grace.</summary>
    [Theory]
    [InlineData(15, 3, 15)]
    [InlineData(1, 3, 3)]
    [InlineData(0, 3, 3)]
    public void Of_AtLeastOneLease(int configured, int lease, int expected)
        => Assert.Equal(TimeSpan.FromSeconds(expected), RestartGrace.Of(TimeSpan.FromSeconds(configured), TimeSpan.FromSeconds(lease)));
}
