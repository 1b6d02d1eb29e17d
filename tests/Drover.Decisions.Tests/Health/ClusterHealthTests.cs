using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

public class ClusterHealthTests
{
    private const BackupMode All = BackupMode.AllMasters;
    private const BackupMode Standbys = BackupMode.MastersStandbys;
    private const BackupMode OneStandby = BackupMode.MastersOneStandby;

    // Every cluster has 2 nodes unless said otherwise; "alive 0" is unhealthy (threshold 1 of 2).
    public static TheoryData<string, BackupMode, Spec[], string, string> Cases => new()
    {
        // name, mode, clusters => shares, hand-overs (served -> serving)
        { "all masters healthy 1:2:3", All, [new("a", 2, 2, 1), new("b", 2, 2, 2), new("c", 2, 2, 3)], "a=0.167 b=0.333 c=0.5", "" },
        { "issue reference: the weight-1 master down moves 2:3", All, [new("a", 2, 0, 1), new("b", 2, 2, 2), new("c", 2, 2, 3)], "b=0.4 c=0.6", "a->b a->c" },
        { "two of three masters down", All, [new("a", 2, 0, 1), new("b", 2, 0, 2), new("c", 2, 2, 3)], "c=1", "a->c b->c" },
        { "a healthy weight-0 master takes nothing", All, [new("a", 2, 2, 0), new("b", 2, 0), new("c", 2, 2)], "c=1", "b->c" },
        { "a weight-0 master down hands nothing over", All, [new("a", 2, 0, 0), new("b", 2, 2)], "b=1", "" },
        { "all weights 0: each master counts as 1", All, [new("a", 2, 2, 0), new("b", 2, 2, 0), new("c", 2, 2, 0)], "a=0.333 b=0.333 c=0.333", "" },
        { "all weights 0, one down: split equally", All, [new("a", 2, 0, 0), new("b", 2, 2, 0), new("c", 2, 2, 0)], "b=0.5 c=0.5", "a->b a->c" },
        { "the only other serving master has weight 0: it takes all", All, [new("a", 2, 0, 100), new("b", 2, 2, 0)], "b=1", "a->b" },
        { "a standby of an all-masters group stays idle", All, [new("a", 2, 2), Spec.Standby("s", 2, 2)], "a=1", "" },
        { "single-node cluster serves everything", All, [new("a", 1, 1)], "a=1", "" },

        { "standbys: one master down goes to the best standby by priority", Standbys,
            [new("m1", 2, 0), new("m2", 2, 2), Spec.Standby("s1", 2, 2, priority: 1), Spec.Standby("s2", 2, 2, priority: 0)],
            "m2=0.5 s2=0.5", "m1->s2" },
        { "standbys: equal priority, the heavier standby first", Standbys,
            [new("m1", 2, 0), new("m2", 2, 2), Spec.Standby("s1", 2, 2, weight: 50), Spec.Standby("s2", 2, 2, weight: 80)],
            "m2=0.5 s2=0.5", "m1->s2" },
        { "standbys: two masters down get a standby each, the preferred master the preferred standby", Standbys,
            [new("m1", 2, 0, 100), new("m2", 2, 0, 200, Priority: 1), new("m3", 2, 2, 100), Spec.Standby("s1", 2, 2, weight: 50), Spec.Standby("s2", 2, 2, weight: 80)],
            "m3=0.25 s1=0.5 s2=0.25", "m1->s2 m2->s1" },
        { "standbys: masters of equal priority are taken heavier first", Standbys,
            [new("m1", 2, 0, 100), new("m2", 2, 0, 200), new("m3", 2, 2, 100), Spec.Standby("s1", 2, 2, weight: 50), Spec.Standby("s2", 2, 2, weight: 80)],
            "m3=0.25 s1=0.25 s2=0.5", "m1->s1 m2->s2" },
        { "standbys: a third master down doubles up on the preferred standby", Standbys,
            [new("m1", 2, 0), new("m2", 2, 0), new("m3", 2, 0), new("m4", 2, 2), Spec.Standby("s1", 2, 2, weight: 50), Spec.Standby("s2", 2, 2, weight: 80)],
            "m4=0.25 s1=0.25 s2=0.5", "m1->s2 m2->s1 m3->s2" },
        { "standbys: an unhealthy standby is passed over", Standbys,
            [new("m1", 2, 0), new("m2", 2, 2), Spec.Standby("s1", 2, 0, priority: 0), Spec.Standby("s2", 2, 2, priority: 1)],
            "m2=0.5 s2=0.5", "m1->s2" },
        { "standbys: every standby down, the masters share by weight", Standbys,
            [new("m1", 2, 0, 100), new("m2", 2, 2, 100), new("m3", 2, 2, 300), Spec.Standby("s1", 2, 0)],
            "m2=0.25 m3=0.75", "m1->m2 m1->m3" },
        { "standbys: no standby at all, the masters share", Standbys,
            [new("m1", 2, 0), new("m2", 2, 2)],
            "m2=1", "m1->m2" },
        { "standbys: several masters down, every standby down", Standbys,
            [new("m1", 2, 0), new("m2", 2, 0), new("m3", 2, 2), Spec.Standby("s1", 2, 0), Spec.Standby("s2", 2, 0)],
            "m3=1", "m1->m3 m2->m3" },

        { "one standby: one master down goes to it", OneStandby,
            [new("m1", 2, 0), new("m2", 2, 2), Spec.Standby("s1", 2, 2, priority: 0), Spec.Standby("s2", 2, 2, priority: 1)],
            "m2=0.5 s1=0.5", "m1->s1" },
        { "one standby: several masters down all go to it", OneStandby,
            [new("m1", 2, 0), new("m2", 2, 0), new("m3", 2, 2), Spec.Standby("s1", 2, 2, priority: 0), Spec.Standby("s2", 2, 2, priority: 1)],
            "m3=0.333 s1=0.667", "m1->s1 m2->s1" },
        { "one standby: it is down, the masters share and the second standby stays out", OneStandby,
            [new("m1", 2, 0), new("m2", 2, 2), Spec.Standby("s1", 2, 0, priority: 0), Spec.Standby("s2", 2, 2, priority: 1)],
            "m2=1", "m1->m2" },
        { "one standby: chosen by weight at equal priority", OneStandby,
            [new("m1", 2, 0), new("m2", 2, 2), Spec.Standby("s1", 2, 2, weight: 10), Spec.Standby("s2", 2, 2, weight: 20)],
            "m2=0.5 s2=0.5", "m1->s2" },

        { "a whole group down spreads over the others by the shares they hold", All,
            [new("a", 2, 0, Group: "g1"), new("b", 2, 0, Group: "g1"), new("c", 2, 2, 100, Group: "g2"), new("d", 2, 2, 300, Group: "g2")],
            "c=0.25 d=0.75", "a->c a->d b->c b->d" },
        { "a whole group down, only an idle standby serves elsewhere: it takes all", All,
            [new("a", 2, 0, Group: "g1"), Spec.Standby("s", 2, 2, group: "g2")],
            "s=1", "a->s" },
        { "a group down with no standby of its own: other groups' standbys do not count", Standbys,
            [new("a", 2, 0, Group: "g1"), new("b", 2, 2, Group: "g2"), Spec.Standby("s", 2, 2, group: "g2")],
            "b=1", "a->b" },
        { "standbys of one group take over, another group's masters keep their own", Standbys,
            [new("a", 2, 0, Group: "g1"), Spec.Standby("s", 2, 2, group: "g1"), new("b", 2, 2, Group: "g2")],
            "b=0.5 s=0.5", "a->s" },
        { "no master anywhere: the serving standbys share equally", All,
            [Spec.Standby("s1", 2, 2, weight: 10), Spec.Standby("s2", 2, 2, weight: 90), Spec.Standby("s3", 2, 0)],
            "s1=0.5 s2=0.5", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Table(string name, BackupMode mode, Spec[] clusters, string shares, string handovers)
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(clusters, mode));

        Assert.True(shares == Fleet.Shares(decision), $"{name}: shares {Fleet.Shares(decision)}");
        Assert.True(handovers == Fleet.Handovers(decision), $"{name}: hand-overs {Fleet.Handovers(decision)}");
        Assert.False(decision.Degraded, name);
        Assert.Equal(1d, decision.Shares.Sum(s => s.Share), 9);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
        Assert.DoesNotContain('\n', decision.Reason);
    }

    public static TheoryData<string, bool, Spec[], string> NothingServes => new()
    {
        // name, fail-open, clusters => shares (always degraded)
        { "fail-open: the best survivors-to-threshold ratio wins", true, [new("a", 10, 4), new("b", 4, 1)], "a=1" },
        { "fail-open: equal ratios, the lower priority number wins", true, [new("a", 4, 1, Priority: 1), new("b", 4, 1, Priority: 0)], "b=1" },
        { "fail-open: equal ratio and priority, the heavier wins", true, [new("a", 4, 1, 10), new("b", 4, 1, 20)], "b=1" },
        { "fail-open: all equal, the first name wins", true, [new("b", 4, 1), new("a", 4, 1)], "a=1" },
        { "fail-open: a standby can be the one", true, [new("a", 4, 0), Spec.Standby("s", 4, 1)], "s=1" },
        { "fail-open: a cluster without survivors loses to a worse priority", true, [new("a", 4, 0, Priority: 0), new("b", 10, 1, Priority: 5)], "b=1" },
        { "fail-open: no survivor anywhere, no shares", true, [new("a", 4, 0), new("b", 1, 0)], "" },
        { "fail-open off: no shares", false, [new("a", 10, 4), new("b", 4, 1)], "" },
        { "no clusters at all", true, [], "" },
        { "single node lost", true, [new("a", 1, 0)], "" },
        { "a configured cluster without nodes", true, [new("a", 0, 0)], "" },
    };

    [Theory]
    [MemberData(nameof(NothingServes))]
    public void Decide_NoClusterCanServe_DegradedWithFailOpenChoice(string name, bool failOpen, Spec[] clusters, string shares)
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot(clusters, failOpen: failOpen));

        Assert.True(shares == Fleet.Shares(decision), $"{name}: shares {Fleet.Shares(decision)}");
        Assert.True(decision.Degraded, name);
        Assert.Equal("", Fleet.Handovers(decision));
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    [Fact]
    public void Decide_FailOpenOff_ReasonSaysSo()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot([new Spec("a", 4, 1)], failOpen: false));

        Assert.Contains("fail-open is off", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_AllWeightsZero_ReasonSaysEachCountsAsOne()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot([new Spec("a", 2, 2, 0), new Spec("b", 2, 2, 0)]));

        Assert.Contains("each counts as 1", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_NodeNamesAnUnlistedCluster_ClusterGetsTheDefaults()
    {
        var snapshot = Fleet.Snapshot([new Spec("a", 2, 2, 300, Group: "g1")]) with
        {
            Nodes = [.. Fleet.Nodes("a", 2, 2), .. Fleet.Nodes("x", 3, 2)],
        };

        var decision = ClusterHealth.Decide(snapshot);

        var x = Fleet.Status(decision, "x");
        string[] none = [];
        Assert.Equal(new ClusterStatus("x", "default", ClusterRole.Master, BackupMode.AllMasters, 100, 0, 3, 2, 2, ClusterHealthState.Healthy, TimeSpan.Zero, none, none),
            x with { ServingFor = none, ServedBy = none });
        Assert.Empty(x.ServingFor);
        Assert.Empty(x.ServedBy);
        Assert.Equal("a=0.75 x=0.25", Fleet.Shares(decision));
    }

    [Fact]
    public void Decide_ClustersInAnyOrder_ListedByOrdinalName()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot([new Spec("b", 1, 1), new Spec("a", 1, 1), new Spec("B", 1, 1)]));

        Assert.Equal(["B", "a", "b"], decision.Clusters.Select(c => c.Name));
        Assert.Equal(["B", "a", "b"], decision.Shares.Select(s => s.Cluster));
    }

    [Fact]
    public void Decide_ClusterListedTwice_FirstEntryWins()
    {
        var snapshot = Fleet.Snapshot([new Spec("a", 2, 2, 100), new Spec("b", 2, 2, 300)]);
        snapshot = snapshot with { Clusters = [.. snapshot.Clusters, new HealthCluster("a", "g", ClusterRole.Master, 900, 0, null, 0.5)] };

        var decision = ClusterHealth.Decide(snapshot);

        Assert.Equal(2, decision.Clusters.Count);
        Assert.Equal("a=0.25 b=0.75", Fleet.Shares(decision));
    }

    [Fact]
    public void Decide_GroupWithoutMode_IsAllMasters()
    {
        var snapshot = Fleet.Snapshot([new Spec("m1", 2, 0), new Spec("m2", 2, 2), Spec.Standby("s", 2, 2)]) with
        {
            GroupModes = new Dictionary<string, BackupMode>(),
        };

        var decision = ClusterHealth.Decide(snapshot);

        Assert.All(decision.Clusters, c => Assert.Equal(BackupMode.AllMasters, c.Mode));
        Assert.Equal("m2=1", Fleet.Shares(decision));
    }

    [Fact]
    public void Decide_HandOver_IsRecordedFromBothEnds()
    {
        var decision = ClusterHealth.Decide(Fleet.Snapshot([new Spec("m1", 2, 0), new Spec("m2", 2, 0), Spec.Standby("s", 2, 2)], BackupMode.MastersOneStandby));

        Assert.Equal(["s"], Fleet.Status(decision, "m1").ServedBy);
        Assert.Equal(["s"], Fleet.Status(decision, "m2").ServedBy);
        Assert.Equal(["m1", "m2"], Fleet.Status(decision, "s").ServingFor);
        Assert.Empty(Fleet.Status(decision, "s").ServedBy);
    }

    [Fact]
    public void Decide_NullSnapshot_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => ClusterHealth.Decide(null!));
    }
}
