using Drover.Decisions.Routing;

namespace Drover.Decisions.Tests.Routing;

public sealed class RoutableTests
{
    /// <summary>Rows: ready, the node it reports from (null: no report yet), the node it is assigned to; routable.</summary>
    [Theory]
    [InlineData(true, "a", "a", true)]
    [InlineData(false, "a", "a", false)]
    [InlineData(true, "b", "a", false)]
    [InlineData(true, null, "a", false)]
    [InlineData(true, "A", "a", false)]
    public void IsRoutable_Cases(bool ready, string? reported, string assigned, bool expected)
        => Assert.Equal(expected, Routable.IsRoutable(ready, reported, assigned));
}
