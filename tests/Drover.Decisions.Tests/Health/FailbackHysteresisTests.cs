using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

public class FailbackHysteresisTests
{
    private const ClusterHealthState Healthy = ClusterHealthState.Healthy;
    private const ClusterHealthState Recovering = ClusterHealthState.Recovering;
    private const ClusterHealthState Unhealthy = ClusterHealthState.Unhealthy;

    // Cluster "a" (3 nodes, threshold 2) with a previous state, beside "b", a healthy master of the
    // same weight that takes a's traffic while a does not serve.
    public static TheoryData<string, ClusterHealthState?, int, int, int, int, ClusterHealthState, int, string, string> Cases => new()
    {
        // name, previous state, previous healthy-for (s), a's survivors, elapsed (s), failback after (s) => state, healthy-for (s), transitions, shares
        { "first sight at the threshold: healthy, no transition", null, 0, 3, 1, 30, Healthy, 0, "", "a=0.5 b=0.5" },
        { "first sight below: unhealthy, no transition", null, 0, 1, 1, 30, Unhealthy, 0, "", "b=1" },
        { "healthy stays healthy and counts the time", Healthy, 10, 3, 1, 30, Healthy, 11, "", "a=0.5 b=0.5" },
        { "healthy drops below", Healthy, 10, 1, 1, 30, Unhealthy, 0, "a:Healthy->Unhealthy", "b=1" },
        { "unhealthy stays unhealthy", Unhealthy, 0, 1, 1, 30, Unhealthy, 0, "", "b=1" },
        { "unhealthy comes back: recovering, traffic stays on the backup", Unhealthy, 0, 2, 1, 30, Recovering, 0, "a:Unhealthy->Recovering", "b=1" },
        { "unhealthy's stale healthy-for is not carried over", Unhealthy, 100, 2, 1, 30, Recovering, 0, "a:Unhealthy->Recovering", "b=1" },
        { "recovering short of the wait: no transition, traffic stays on the backup", Recovering, 20, 3, 1, 30, Recovering, 21, "", "b=1" },
        { "recovering one tick short", Recovering, 28, 3, 1, 30, Recovering, 29, "", "b=1" },
        { "recovering reaches the wait exactly: fails back", Recovering, 29, 3, 1, 30, Healthy, 30, "a:Recovering->Healthy", "a=0.5 b=0.5" },
        { "recovering past the wait: fails back", Recovering, 29, 3, 5, 30, Healthy, 34, "a:Recovering->Healthy", "a=0.5 b=0.5" },
        { "recovering flaps back below: unhealthy, time reset", Recovering, 20, 1, 1, 30, Unhealthy, 0, "a:Recovering->Unhealthy", "b=1" },
        { "failback after zero: back at once", Unhealthy, 0, 2, 1, 0, Healthy, 0, "a:Unhealthy->Healthy", "a=0.5 b=0.5" },
        { "failback after zero with no time elapsed", Unhealthy, 0, 2, 0, 0, Healthy, 0, "a:Unhealthy->Healthy", "a=0.5 b=0.5" },
        { "a long tick does not cut the wait short: recovering from zero", Unhealthy, 0, 3, 30, 30, Recovering, 0, "a:Unhealthy->Recovering", "b=1" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Table(string name, ClusterHealthState? previous, int healthyForSeconds, int survivors, int elapsedSeconds, int failbackSeconds,
        ClusterHealthState state, int expectedHealthyForSeconds, string transitions, string shares)
    {
        var before = new Dictionary<string, PreviousClusterHealth> { ["b"] = new(Healthy, TimeSpan.FromSeconds(100)) };
        if (previous is { } p)
        {
            before["a"] = new PreviousClusterHealth(p, TimeSpan.FromSeconds(healthyForSeconds));
        }

        var decision = ClusterHealth.Decide(Fleet.Snapshot(
            [new Spec("a", 3, survivors), new Spec("b", 3, 3)],
            previous: before, elapsed: TimeSpan.FromSeconds(elapsedSeconds), failbackAfter: TimeSpan.FromSeconds(failbackSeconds)));

        var a = Fleet.Status(decision, "a");
        Assert.True(state == a.Health, $"{name}: {a.Health}");
        Assert.True(TimeSpan.FromSeconds(expectedHealthyForSeconds) == a.HealthyFor, $"{name}: healthy for {a.HealthyFor}");
        Assert.True(transitions == Fleet.Transitions(decision), $"{name}: transitions {Fleet.Transitions(decision)}");
        Assert.True(shares == Fleet.Shares(decision), $"{name}: shares {Fleet.Shares(decision)}");
    }

    [Fact]
    public void Decide_OutageRecoveryFlapAndFailback_EachTransitionRecordedOnceAndTrafficStaysOnTheStandbyUntilTheWait()
    {
        // a is a master of 3 nodes with a standby s, failback after 3 s, one evaluation per second.
        int[] survivors = [3, 3, 1, 1, 2, 2, 1, 3, 3, 3, 3, 3];
        string[] expectedStates = ["Healthy", "Healthy", "Unhealthy", "Unhealthy", "Recovering", "Recovering", "Unhealthy", "Recovering", "Recovering", "Recovering", "Healthy", "Healthy"];
        string[] expectedShares = ["a=1", "a=1", "s=1", "s=1", "s=1", "s=1", "s=1", "s=1", "s=1", "s=1", "a=1", "a=1"];
        string[] expectedTransitions = ["", "", "a:Healthy->Unhealthy", "", "a:Unhealthy->Recovering", "", "a:Recovering->Unhealthy", "a:Unhealthy->Recovering", "", "", "a:Recovering->Healthy", ""];
        var previous = new Dictionary<string, PreviousClusterHealth>();
        var all = new List<string>();
        for (var tick = 0; tick < survivors.Length; tick++)
        {
            var decision = ClusterHealth.Decide(Fleet.Snapshot(
                [new Spec("a", 3, survivors[tick]), Spec.Standby("s", 2, 2)], BackupMode.MastersStandbys,
                previous: previous, elapsed: TimeSpan.FromSeconds(1), failbackAfter: TimeSpan.FromSeconds(3)));

            var a = Fleet.Status(decision, "a");
            Assert.True(expectedStates[tick] == a.Health.ToString(), $"tick {tick}: {a.Health}");
            Assert.True(expectedShares[tick] == Fleet.Shares(decision), $"tick {tick}: {Fleet.Shares(decision)}");
            Assert.True(expectedTransitions[tick] == Fleet.Transitions(decision), $"tick {tick}: {Fleet.Transitions(decision)}");
            all.AddRange(decision.Transitions.Select(t => t.Reason));
            previous = decision.Clusters.ToDictionary(c => c.Name, c => new PreviousClusterHealth(c.Health, c.HealthyFor));
        }

        Assert.Equal(5, all.Count);
    }

    [Fact]
    public void Decide_ClusterDropsBelow_TransitionCarriesTheNumbersAndOneSentence()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(
            [new Spec("a", 3, 1), new Spec("b", 3, 3)],
            previous: new Dictionary<string, PreviousClusterHealth> { ["a"] = new(Healthy, TimeSpan.FromSeconds(5)) }));

        var transition = Assert.Single(decision.Transitions);
        Assert.Equal(new ClusterTransition("a", Healthy, Unhealthy, 1, 2, "cluster 'a' has 1 surviving node of 3, below its threshold of 2"), transition);
    }

    [Fact]
    public void Decide_FailsBack_ReasonNamesTheWait()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(
            [new Spec("a", 3, 3)],
            previous: new Dictionary<string, PreviousClusterHealth> { ["a"] = new(Recovering, TimeSpan.FromSeconds(29)) },
            elapsed: TimeSpan.FromSeconds(1), failbackAfter: TimeSpan.FromSeconds(30)));

        var transition = Assert.Single(decision.Transitions);
        Assert.Contains("fails back after 30 s", transition.Reason, StringComparison.Ordinal);
        Assert.Contains("3 surviving nodes of 3", transition.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_Flaps_ReasonSaysSo()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(
            [new Spec("a", 3, 1)],
            previous: new Dictionary<string, PreviousClusterHealth> { ["a"] = new(Recovering, TimeSpan.FromSeconds(12)) },
            elapsed: TimeSpan.FromSeconds(1), failbackAfter: TimeSpan.FromSeconds(30)));

        var transition = Assert.Single(decision.Transitions);
        Assert.StartsWith("cluster 'a' flapped after 12 s of recovery", transition.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_RecoveringStandby_CannotServeSoMastersShare()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(
            [new Spec("m1", 2, 0), new Spec("m2", 2, 2), Spec.Standby("s", 2, 2)], BackupMode.MastersOneStandby,
            previous: new Dictionary<string, PreviousClusterHealth> { ["s"] = new(Unhealthy, TimeSpan.Zero) },
            elapsed: TimeSpan.FromSeconds(1), failbackAfter: TimeSpan.FromSeconds(30)));

        Assert.Equal(Recovering, Fleet.Status(decision, "s").Health);
        Assert.Equal("m2=1", Fleet.Shares(decision));
        Assert.Equal("m1->m2", Fleet.Handovers(decision));
    }

    [Fact]
    public void Decide_NothingHealthy_FailOpenPrefersTheRecoveringCluster()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(
            [new Spec("a", 4, 1, Priority: 0), new Spec("b", 4, 4, Priority: 9)],
            previous: new Dictionary<string, PreviousClusterHealth> { ["a"] = new(Healthy, TimeSpan.Zero), ["b"] = new(Unhealthy, TimeSpan.Zero) },
            elapsed: TimeSpan.FromSeconds(1), failbackAfter: TimeSpan.FromSeconds(30)));

        Assert.True(decision.Degraded);
        Assert.Equal(Recovering, Fleet.Status(decision, "b").Health);
        Assert.Equal("b=1", Fleet.Shares(decision));
    }

    [Fact]
    public void Next_HealthyForNearMaximum_SaturatesInsteadOfThrowing()
    {
        var step = FailbackHysteresis.Next(true, new PreviousClusterHealth(Healthy, TimeSpan.MaxValue - TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(5), TimeSpan.Zero);

        Assert.Equal(TimeSpan.MaxValue, step.HealthyFor);
    }

    [Fact]
    public void Next_NegativeElapsed_CountsAsZero()
    {
        var step = FailbackHysteresis.Next(true, new PreviousClusterHealth(Recovering, TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(-5), TimeSpan.FromSeconds(3));

        Assert.Equal(new HealthStep(Recovering, TimeSpan.FromSeconds(2), null), step);
    }
}
