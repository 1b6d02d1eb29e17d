using System.Globalization;

namespace Drover.Decisions.Health;

/// <summary>
/// Where traffic goes, from the clusters' states. Pure: a function of the evaluated clusters.
/// </summary>
/// <remarks>
/// <para>
/// Own shares: each master's weight over the sum of the weights of every master of every group
/// (when that sum is 0, every master counts as weight 1). Standbys have no share of their own. A
/// master that can serve always keeps its own share.
/// </para>
/// <para>
/// A master that cannot serve (unhealthy or recovering) hands its share over inside its group, by
/// the group's mode. Such masters are taken in order: priority ascending, weight descending, name.
/// <list type="bullet">
/// <item><see cref="BackupMode.AllMasters"/>: split over the group's serving masters in proportion
/// to their weights (equally when those weights are all 0).</item>
/// <item><see cref="BackupMode.MastersStandbys"/>: the whole share goes to one serving standby of
/// the group: the one serving the fewest masters so far, ties broken by priority ascending, weight
/// descending, name; so each master gets a standby of its own while there are enough.</item>
/// <item><see cref="BackupMode.MastersOneStandby"/>: the group's one standby is its best standby
/// (same order) among all its standbys, serving or not; every such master goes to it when it can serve.</item>
/// </list>
/// In the standby modes, when no standby target can serve, the share is split as in
/// <see cref="BackupMode.AllMasters"/>. When the group has no serving target at all, the share is
/// orphaned; once every group has been handled, orphaned shares are spread over every serving
/// cluster of every group in proportion to the shares they then hold (equally when none holds any).
/// With no master at all, the whole traffic is orphaned that way.
/// </para>
/// <para>
/// A master whose own share is 0 (weight 0 beside masters with weight) has nothing to hand over:
/// it takes no standby and is served by nobody. <c>ServingFor</c> and <c>ServedBy</c> record every
/// hand-over of a share above 0, from both ends.
/// </para>
/// <para>
/// When no cluster can serve, the decision is degraded: with fail-open, all traffic goes to the
/// best cluster that still has a surviving node (highest survivors-to-threshold ratio, then
/// recovering before unhealthy, then priority ascending, weight descending, name); without it, or
/// with no surviving node anywhere, there are no shares. Fail-open records no hand-overs.
/// </para>
/// </remarks>
internal static class TrafficShares
{
    /// <summary>Priority ascending, weight descending, name (ordinal): the order standbys and unhealthy masters are taken in.</summary>
    internal static readonly Comparer<EvaluatedCluster> Preference = Comparer<EvaluatedCluster>.Create(static (a, b) =>
    {
        var byPriority = a.Priority.CompareTo(b.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }

        var byWeight = b.Weight.CompareTo(a.Weight);
        return byWeight != 0 ? byWeight : string.CompareOrdinal(a.Name, b.Name);
    });

    /// <summary>Fail-open's order: survivors over threshold descending, recovering before unhealthy, then <see cref="Preference"/>.</summary>
    internal static readonly Comparer<EvaluatedCluster> FailOpenOrder = Comparer<EvaluatedCluster>.Create(static (a, b) =>
    {
        // Cross-multiplied rather than divided: ratios compared exactly.
        var byRatio = ((long)b.Survivors * a.MinSurvivors).CompareTo((long)a.Survivors * b.MinSurvivors);
        if (byRatio != 0)
        {
            return byRatio;
        }

        var byState = StateRank(a.Health).CompareTo(StateRank(b.Health));
        return byState != 0 ? byState : Preference.Compare(a, b);
    });

    public static ShareOutcome Decide(IReadOnlyList<EvaluatedCluster> clusters, bool failOpen)
    {
        var serving = clusters.Where(c => c.CanServe).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        if (serving.Count == 0)
        {
            return NothingServes(clusters, failOpen);
        }

        var state = new Moves(clusters);
        var notes = new List<string>();
        var masters = clusters.Where(c => c.IsMaster).ToList();
        var weightSum = masters.Sum(c => (long)c.Weight);
        var allZero = masters.Count > 0 && weightSum == 0;
        if (allZero)
        {
            notes.Add("every master's weight is 0, so each counts as 1");
        }

        double Own(EvaluatedCluster master) => allZero ? 1d / masters.Count : (double)master.Weight / weightSum;

        foreach (var master in masters.Where(m => m.CanServe))
        {
            state.Share[master.Name] += Own(master);
        }

        var orphans = new List<(EvaluatedCluster? From, double Amount)>();
        if (masters.Count == 0)
        {
            orphans.Add((null, 1d));
        }

        foreach (var group in clusters.GroupBy(c => c.Group, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var down = group.Where(c => c.IsMaster && !c.CanServe && Own(c) > 0).OrderBy(c => c, Preference).ToList();
            if (down.Count == 0)
            {
                continue;
            }

            var servingMasters = group.Where(c => c.IsMaster && c.CanServe).OrderBy(c => c, Preference).ToList();
            var standbys = group.Where(c => !c.IsMaster).OrderBy(c => c, Preference).ToList();
            var mode = group.First().Mode;

            void AmongMasters(EvaluatedCluster from, string how)
            {
                if (servingMasters.Count == 0)
                {
                    orphans.Add((from, Own(from)));
                    return;
                }

                var amount = Own(from);
                var sum = servingMasters.Sum(m => (long)m.Weight);
                var to = new List<string>();
                foreach (var target in servingMasters)
                {
                    var part = sum > 0 ? amount * target.Weight / sum : amount / servingMasters.Count;
                    if (part > 0)
                    {
                        state.Move(from.Name, target.Name, part);
                        to.Add(target.Name);
                    }
                }

                notes.Add($"{Describe(from, amount)} goes to {Names(to)} ({how})");
            }

            void ToStandby(EvaluatedCluster from, EvaluatedCluster standby, string how)
            {
                var amount = Own(from);
                state.Move(from.Name, standby.Name, amount);
                notes.Add($"{Describe(from, amount)} goes to '{standby.Name}' ({how})");
            }

            switch (mode)
            {
                case BackupMode.MastersStandbys:
                    var targets = standbys.Where(s => s.CanServe).ToList();
                    var load = targets.ToDictionary(t => t.Name, _ => 0, StringComparer.Ordinal);
                    foreach (var from in down)
                    {
                        if (targets.Count == 0)
                        {
                            AmongMasters(from, $"no standby of group '{group.Key}' can serve, so its masters share it");
                            continue;
                        }

                        // OrderBy is stable: among equally loaded standbys the preferred one comes first.
                        var standby = targets.OrderBy(t => load[t.Name]).First();
                        load[standby.Name]++;
                        ToStandby(from, standby, "a standby of its group");
                    }

                    break;
                case BackupMode.MastersOneStandby:
                    var one = standbys.FirstOrDefault();
                    foreach (var from in down)
                    {
                        if (one is { CanServe: true })
                        {
                            ToStandby(from, one, "its group's one standby");
                        }
                        else
                        {
                            AmongMasters(from, one is null
                                ? $"group '{group.Key}' has no standby, so its masters share it"
                                : $"the standby '{one.Name}' of group '{group.Key}' cannot serve, so its masters share it");
                        }
                    }

                    break;
                default:
                    foreach (var from in down)
                    {
                        AmongMasters(from, "shared by its group's masters");
                    }

                    break;
            }
        }

        if (orphans.Count > 0)
        {
            // Proportional to the shares held once every group has been handled, so the order the
            // orphans are spread in does not matter.
            var held = serving.ToDictionary(c => c.Name, c => state.Share[c.Name], StringComparer.Ordinal);
            var heldSum = held.Values.Sum();
            foreach (var (from, amount) in orphans)
            {
                var to = new List<string>();
                foreach (var target in serving)
                {
                    var part = heldSum > 0 ? amount * held[target.Name] / heldSum : amount / serving.Count;
                    if (part > 0)
                    {
                        state.Share[target.Name] += part;
                        if (from is not null)
                        {
                            state.Link(from.Name, target.Name);
                        }

                        to.Add(target.Name);
                    }
                }

                notes.Add(from is null
                    ? $"no cluster is a master, so all traffic is spread over {Names(to)}"
                    : $"{Describe(from, amount)} goes to {Names(to)} (nothing in group '{from.Group}' can serve, so every serving cluster takes part)");
            }
        }

        var summary = $"{serving.Count} of {clusters.Count} clusters can serve";
        var reason = notes.Count == 0
            ? $"{summary}; every master serves its own weight share"
            : $"{summary}; {string.Join("; ", notes)}";
        return state.Outcome(degraded: false, reason);
    }

    private static ShareOutcome NothingServes(IReadOnlyList<EvaluatedCluster> clusters, bool failOpen)
    {
        var state = new Moves(clusters);
        if (clusters.Count == 0)
        {
            return state.Outcome(degraded: true, "no cluster is known, so nothing can serve");
        }

        var recovering = clusters.Count(c => c.Health == ClusterHealthState.Recovering);
        var counts = $"no cluster can serve ({clusters.Count - recovering} unhealthy, {recovering} recovering)";
        if (!failOpen)
        {
            return state.Outcome(degraded: true, $"{counts} and fail-open is off, so traffic is refused");
        }

        var best = clusters.Where(c => c.Survivors >= 1).OrderBy(c => c, FailOpenOrder).FirstOrDefault();
        if (best is null)
        {
            return state.Outcome(degraded: true, $"{counts} and none has a surviving node, so there is nothing to fail open to");
        }

        state.Share[best.Name] = 1d;
        return state.Outcome(degraded: true,
            $"{counts}; fail-open sends all traffic to '{best.Name}' ({State(best.Health)}, {best.Survivors} surviving {Nodes(best.Survivors)} of {best.Total}, threshold {best.MinSurvivors})");
    }

    private static int StateRank(ClusterHealthState health) => health switch
    {
        ClusterHealthState.Healthy => 0,
        ClusterHealthState.Recovering => 1,
        _ => 2,
    };

    private static string Describe(EvaluatedCluster from, double amount)
        => $"'{from.Name}' is {State(from.Health)}: its share {Number(amount)}";

    internal static string State(ClusterHealthState health) => health switch
    {
        ClusterHealthState.Healthy => "healthy",
        ClusterHealthState.Recovering => "recovering",
        _ => "unhealthy",
    };

    internal static string Nodes(int count) => count == 1 ? "node" : "nodes";

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Names(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    /// <summary>The shares and hand-overs being built.</summary>
    private sealed class Moves(IReadOnlyList<EvaluatedCluster> clusters)
    {
        private readonly Dictionary<string, SortedSet<string>> _servingFor = clusters.ToDictionary(c => c.Name, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        private readonly Dictionary<string, SortedSet<string>> _servedBy = clusters.ToDictionary(c => c.Name, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);

        public Dictionary<string, double> Share { get; } = clusters.ToDictionary(c => c.Name, _ => 0d, StringComparer.Ordinal);

        public void Move(string from, string to, double amount)
        {
            Share[to] += amount;
            Link(from, to);
        }

        public void Link(string from, string to)
        {
            _servedBy[from].Add(to);
            _servingFor[to].Add(from);
        }

        public ShareOutcome Outcome(bool degraded, string reason) => new(
            Share.Where(s => s.Value > 0).OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new ClusterShare(s.Key, s.Value)).ToArray(),
            _servingFor.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)[.. p.Value], StringComparer.Ordinal),
            _servedBy.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)[.. p.Value], StringComparer.Ordinal),
            degraded,
            reason);
    }
}
