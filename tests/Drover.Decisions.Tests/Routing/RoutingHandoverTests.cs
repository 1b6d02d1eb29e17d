using Drover.Decisions.Routing;

namespace Drover.Decisions.Tests.Routing;

public sealed class RoutingHandoverTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Rows: the inherited table's and the built table's hosts ("workload:node,node;workload:node"; "" for none), the
    /// seconds since the new leader started; whether the inherited table is still served.
    /// </summary>
    [Theory]
    [InlineData("echo:a,b", "", 30, false)]
    [InlineData("echo:a,b", "", 31, false)]
    [InlineData("echo:a,b", "", 29, true)]
    [InlineData("echo:a,b", "echo:a,b", 0, false)]
    [InlineData("echo:a,b;service/api:c", "echo:a,b;service/api:c", 5, false)]
    [InlineData("echo:a,b;service/api:c", "echo:a,b", 5, true)]
    [InlineData("echo:a,b", "other:a,b", 5, true)]
    [InlineData("echo:a,b", "echo:a", 5, true)]
    [InlineData("echo:a,b", "echo:b,c", 5, true)]
    [InlineData("echo:a", "echo:A", 5, true)]
    [InlineData("", "", 0, false)]
    [InlineData("", "echo:a", 0, false)]
    [InlineData("echo:a", "echo:a,b,c", 5, false)]
    [InlineData("echo:a", "echo:a,b;resize:c", 5, false)]
    [InlineData("echo:", "", 5, false)]
    [InlineData("echo:;resize:a", "resize:a", 5, false)]
    [InlineData("echo:;resize:a", "echo:b", 5, true)]
    public void Holds_Cases(string inherited, string built, int sinceStartSeconds, bool holds)
        => Assert.Equal(holds, RoutingHandover.Holds(Table(inherited), Table(built), TimeSpan.FromSeconds(sinceStartSeconds), Grace));

    [Fact]
    public void Holds_NoGrace_False()
        => Assert.False(RoutingHandover.Holds(Table("echo:a"), Table(""), TimeSpan.Zero, TimeSpan.Zero));

    [Fact]
    public void Holds_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => RoutingHandover.Holds(null!, Table(""), TimeSpan.Zero, Grace));
        Assert.Throws<ArgumentNullException>(() => RoutingHandover.Holds(Table(""), null!, TimeSpan.Zero, Grace));
    }

    private static RoutingTable Table(string hosts) => new(
        1,
        [],
        hosts.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split(':'))
            .ToDictionary(
                entry => entry[0],
                entry => (IReadOnlySet<string>)entry[1].Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
                StringComparer.Ordinal),
        false,
        "test");
}
