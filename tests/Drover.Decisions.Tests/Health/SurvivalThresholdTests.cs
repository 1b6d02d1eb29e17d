using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

public class SurvivalThresholdTests
{
    public static TheoryData<string, int, int?, double, int> Cases => new()
    {
        // name, total, fixed minimum, ratio => threshold
        { "half of three rounds up", 3, null, 0.5, 2 },
        { "half of four", 4, null, 0.5, 2 },
        { "ceil(10 x 0.3) is 3", 10, null, 0.3, 3 },
        { "100 x 0.07 is 7.000000000000001 in double: still 7", 100, null, 0.07, 7 },
        { "100 x 0.55 is 55.00000000000001 in double: still 55", 100, null, 0.55, 55 },
        { "a ratio just above a whole number rounds up", 10, null, 0.31, 4 },
        { "ratio 1: every node", 5, null, 1.0, 5 },
        { "ratio 0: never below 1", 5, null, 0.0, 1 },
        { "no nodes: never below 1", 0, null, 0.5, 1 },
        { "single node at half", 1, null, 0.5, 1 },
        { "fixed above the ratio wins", 4, 3, 0.5, 3 },
        { "fixed below the ratio wins", 10, 2, 0.5, 2 },
        { "fixed above the total: unreachable, as configured", 2, 5, 0.5, 5 },
        { "fixed zero: never below 1", 3, 0, 0.5, 1 },
        { "ratio above 1 clamps to every node", 4, null, 1.5, 4 },
        { "NaN ratio counts as 0", 4, null, double.NaN, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MinSurvivors_Table(string name, int total, int? fixedMinimum, double ratio, int expected)
    {
        Assert.True(expected == SurvivalThreshold.MinSurvivors(total, fixedMinimum, ratio), name);
    }

    public static TheoryData<string, int, int, int?, double, int, ClusterHealthState> EdgeCases => new()
    {
        // name, total, alive, fixed minimum, ratio => threshold, state
        { "exactly at the threshold", 4, 2, null, 0.5, 2, ClusterHealthState.Healthy },
        { "one below the threshold", 4, 1, null, 0.5, 2, ClusterHealthState.Unhealthy },
        { "odd total at the rounded-up threshold", 3, 2, null, 0.5, 2, ClusterHealthState.Healthy },
        { "odd total one below", 3, 1, null, 0.5, 2, ClusterHealthState.Unhealthy },
        { "fixed wins over a ratio that would pass", 4, 2, 3, 0.5, 3, ClusterHealthState.Unhealthy },
        { "fixed wins over a ratio that would fail", 10, 2, 2, 0.5, 2, ClusterHealthState.Healthy },
        { "ten at 0.3: three survivors is enough", 10, 3, null, 0.3, 3, ClusterHealthState.Healthy },
        { "ten at 0.3: two is not", 10, 2, null, 0.3, 3, ClusterHealthState.Unhealthy },
        { "no nodes: nothing to serve with", 0, 0, null, 0.5, 1, ClusterHealthState.Unhealthy },
        { "no nodes, ratio 0: still unhealthy", 0, 0, null, 0.0, 1, ClusterHealthState.Unhealthy },
        { "single node alive", 1, 1, null, 0.5, 1, ClusterHealthState.Healthy },
        { "single node lost", 1, 0, null, 0.5, 1, ClusterHealthState.Unhealthy },
    };

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public void Decide_ThresholdEdge_StateFollowsTheThreshold(string name, int total, int alive, int? fixedMinimum, double ratio, int threshold, ClusterHealthState state)
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot([new Spec("a", total, alive, Min: fixedMinimum, Ratio: ratio)]));

        var status = Fleet.Status(decision, "a");
        Assert.True(threshold == status.MinSurvivors, $"{name}: threshold {status.MinSurvivors}");
        Assert.True(state == status.Health, $"{name}: {status.Health}");
        Assert.Equal(total, status.Total);
        Assert.Equal(alive, status.Survivors);
    }
}
