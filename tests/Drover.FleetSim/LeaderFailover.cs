using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Drover.FleetSim;

/// <summary>
/// Issue 21's fault at fleet scale: the leader of several aggregators SIGKILLed while every agent is connected to it,
/// timed until a surviving aggregator's <c>GET /v1/leader</c> names a new leader, and until each agent has a Welcome
/// from that new leader (the simulator sees its own Welcomes, so the times are the agents' own); what each agent
/// dialled and how many Redirects it was answered on the way; and the new leader's CPU over the minute after.
/// </summary>
internal static class LeaderFailover
{
    /// <summary>How long the new leader's CPU is measured from the kill.</summary>
    private static readonly TimeSpan CpuWindow = TimeSpan.FromMinutes(1);

    /// <summary>How long agents are waited for: past it, those without a Welcome from the new leader are counted as not back.</summary>
    private static readonly TimeSpan BackWithin = TimeSpan.FromMinutes(2);

    /// <summary>One agent's way back: when the new leader welcomed it, and what it took since the kill.</summary>
    private sealed record Back(double Ms, long Attempts, long Redirects, long EmptyRedirects);

    /// <summary>Kills <paramref name="leader"/> and measures; returns the figures and the wall-clock time of the kill.</summary>
    public static async Task<(JsonObject Report, DateTimeOffset KilledAt)> RunAsync(
        AggregatorProcess[] aggregators, FleetApi[] apis, int leader, SimulatedAgent[] agents, TextWriter progress, CancellationToken cancellationToken)
    {
        var old = await apis[leader].LeaderAsync(cancellationToken);
        var pid = aggregators[leader].Pid;
        var survivors = Enumerable.Range(0, aggregators.Length).Where(i => i != leader).ToArray();

        // Each agent's counters at the kill, and its first Welcome from another aggregator after it. The fleet is
        // steady here (every agent connected to the leader, none dialling), so the counters do not move meanwhile.
        var baseline = agents.Select(a => (a.Attempts, a.Redirects, a.EmptyRedirects)).ToArray();
        var back = new Back?[agents.Length];
        var killedAt = 0L;
        foreach (var agent in agents)
        {
            agent.Welcomed = (a, welcome, at) =>
            {
                if (welcome.AggregatorId != old.AggregatorId && back[a.Index] is null)
                {
                    var (attempts, redirects, empty) = baseline[a.Index];
                    back[a.Index] = new Back(Stopwatch.GetElapsedTime(Volatile.Read(ref killedAt), at).TotalMilliseconds, a.Attempts - attempts, a.Redirects - redirects, a.EmptyRedirects - empty);
                }
            };
        }

        var cpuBefore = survivors.Select(i => aggregators[i].CpuTime()).ToArray();
        var ownCpuBefore = ProcStat.CpuTime(null);
        var killedWallClock = DateTimeOffset.UtcNow;
        Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
        await aggregators[leader].StopAsync("kill");
        await progress.WriteLineAsync($"fleetsim: leader '{old.AggregatorId}' (term {old.Term}, pid {pid}) SIGKILLed with {agents.Length} agents on it");

        // The survivors' view, every 50 ms, until one names a leader other than the one killed.
        FleetApi.Leadership? named = null;
        double? namedMs = null;
        var peaks = new double[survivors.Length];
        var lastCpu = (double[])[.. cpuBefore.Select(c => c.TotalSeconds)];
        var lastSample = Stopwatch.GetTimestamp();
        while (true)
        {
            var elapsed = Stopwatch.GetElapsedTime(killedAt);
            if (named is null && elapsed < BackWithin)
            {
                foreach (var i in survivors)
                {
                    var view = await TryLeaderAsync(apis[i], cancellationToken);
                    if (view is { LeaderId: { } id } && id != old.AggregatorId)
                    {
                        named = view;
                        namedMs = Stopwatch.GetElapsedTime(killedAt).TotalMilliseconds;
                        await progress.WriteLineAsync($"fleetsim: aggregator '{view.AggregatorId}' names '{id}' leader (term {view.Term}) {namedMs / 1000:F2} s after the kill");
                        break;
                    }
                }
            }

            // Each survivor's CPU in each second of the window, for its busiest second.
            if (Stopwatch.GetElapsedTime(lastSample) >= TimeSpan.FromSeconds(1) && elapsed <= CpuWindow + TimeSpan.FromSeconds(1))
            {
                var seconds = Stopwatch.GetElapsedTime(lastSample).TotalSeconds;
                lastSample = Stopwatch.GetTimestamp();
                for (var s = 0; s < survivors.Length; s++)
                {
                    var cpu = aggregators[survivors[s]].CpuTime().TotalSeconds;
                    peaks[s] = Math.Max(peaks[s], (cpu - lastCpu[s]) / seconds * 100);
                    lastCpu[s] = cpu;
                }
            }

            var allBack = Array.TrueForAll(back, b => b is not null);
            var noneLeft = Array.TrueForAll(survivors, i => aggregators[i].ExitCode is not null);
            if ((elapsed >= CpuWindow && (allBack || elapsed >= BackWithin)) || elapsed >= BackWithin + CpuWindow || noneLeft)
            {
                break;
            }

            await Task.Delay(named is null ? 50 : 250, cancellationToken);
        }

        var window = Stopwatch.GetElapsedTime(killedAt).TotalSeconds;
        var ownCpu = (ProcStat.CpuTime(null) - ownCpuBefore).TotalSeconds / window * 100;
        foreach (var agent in agents)
        {
            agent.Welcomed = null;
        }

        // An aggregator that ended during the failover is the product's failure, not the simulator's: it is reported, with its log.
        var exited = survivors.Where(i => aggregators[i].ExitCode is not null).ToArray();
        foreach (var i in exited)
        {
            await progress.WriteLineAsync($"fleetsim: surviving aggregator pid {aggregators[i].Pid} ended with code {aggregators[i].ExitCode} during the failover; see {aggregators[i].LogFile}");
        }

        var newLeader = named is null ? -1 : Array.FindIndex(survivors, i => aggregators[i].LinkAddress == named.LeaderLinkUrl);
        double? cpuPercent = null, cpuPeak = null;
        int? alive = null;
        if (newLeader >= 0 && aggregators[survivors[newLeader]].ExitCode is null)
        {
            var process = aggregators[survivors[newLeader]];
            cpuPercent = (process.CpuTime() - cpuBefore[newLeader]).TotalSeconds / window * 100;
            cpuPeak = peaks[newLeader];
            try
            {
                var nodes = await apis[survivors[newLeader]].NodesAsync(cancellationToken);
                alive = agents.Count(a => nodes.TryGetValue(a.NodeId, out var n) && n.Connected && n.Survival == "alive");
            }
            catch (HttpRequestException)
            {
                // Counted as unknown: the report says so with a null.
            }
        }

        var returned = back.OfType<Back>().ToArray();
        var times = returned.Select(b => b.Ms).Order().ToArray();
        double? Share(double percent)
        {
            // The time by which this share of the whole fleet was back: an agent not back counts as never.
            var rank = (int)Math.Ceiling(percent / 100 * agents.Length);
            return rank <= times.Length ? times[Math.Max(rank, 1) - 1] : null;
        }

        var report = new JsonObject
        {
            ["killedLeader"] = old.AggregatorId,
            ["killedTerm"] = old.Term,
            ["newLeader"] = named?.LeaderId,
            ["newTerm"] = named?.Term,
            ["newLeaderNamedMs"] = Round(namedMs),
            ["agentsBackP50Ms"] = Round(Share(50)),
            ["agentsBackP99Ms"] = Round(Share(99)),
            ["agentsBackAllMs"] = Round(Share(100)),
            ["agentsNotBack"] = agents.Length - returned.Length,
            ["attemptsPerAgentMean"] = Round(returned.Length == 0 ? null : returned.Average(b => b.Attempts)),
            ["attemptsPerAgentMax"] = returned.Length == 0 ? null : returned.Max(b => b.Attempts),
            ["redirectsPerAgentMean"] = Round(returned.Length == 0 ? null : returned.Average(b => b.Redirects)),
            ["redirectsPerAgentMax"] = returned.Length == 0 ? null : returned.Max(b => b.Redirects),
            ["noLeaderRedirectsPerAgentMean"] = Round(returned.Length == 0 ? null : returned.Average(b => b.EmptyRedirects)),
            ["newLeaderCpuPercent"] = Round(cpuPercent),
            ["newLeaderCpuPeakPercent"] = Round(cpuPeak),
            ["cpuWindowSeconds"] = Round(window),
            ["simulatorCpuPercent"] = Round(ownCpu),
            ["aliveOnNewLeader"] = alive,
            ["survivorsExited"] = exited.Length,
        };
        await progress.WriteLineAsync(
            $"fleetsim: {returned.Length} of {agents.Length} agents welcomed by the new leader: 50 % after {Share(50) / 1000:F2} s, 99 % after {Share(99) / 1000:F2} s, all after {Share(100) / 1000:F2} s; "
            + $"{report["attemptsPerAgentMean"]} attempts and {report["redirectsPerAgentMean"]} redirects per agent on average; the new leader at {cpuPercent:F1} % of a core over {window:F0} s (peak second {cpuPeak:F0} %)");
        return (report, killedWallClock);
    }

    /// <summary>The aggregator's view of the leader, or null while it does not answer (busy, or a request refused).</summary>
    private static async Task<FleetApi.Leadership?> TryLeaderAsync(FleetApi api, CancellationToken cancellationToken)
    {
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(TimeSpan.FromSeconds(2));
            return await api.LeaderAsync(bound.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 1) : null;
}
