using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Drover.Aggregator.Security;
using Drover.Protocol.Security;

namespace Drover.FleetSim;

/// <summary>
/// One run: a real aggregator, <see cref="FleetSimOptions.Agents"/> simulated agents connected to it, a steady
/// window measured, then the faults (agents stopped abruptly and agents hung, timed to their lost verdicts),
/// then the aggregator restarted and timed until every running agent is back. Ends with the report. With
/// <see cref="FleetSimOptions.Ha"/> aggregators on one PostgreSQL (issue 21), the window is measured on the
/// leader, and the fault is the leader's SIGKILL (<see cref="LeaderFailover"/>) instead.
/// </summary>
internal static class FleetRun
{
    public static async Task<JsonObject> RunAsync(FleetSimOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("drover-fleetsim.");
        try
        {
            return await RunInAsync(options, folder.FullName, progress, cancellationToken);
        }
        finally
        {
            if (options.Keep)
            {
                await progress.WriteLineAsync($"fleetsim: the run's folder (aggregator log and data) is kept in {folder.FullName}");
            }
            else
            {
                folder.Delete(recursive: true);
            }
        }
    }

    private static async Task<JsonObject> RunInAsync(FleetSimOptions options, string folder, TextWriter progress, CancellationToken cancellationToken)
    {
        await using var postgres = options.Ha > 1 && options.PostgresConnectionFile.Length == 0 ? await FleetPostgres.StartAsync(folder, cancellationToken) : null;
        var store = options.Ha == 1 ? null : postgres?.ConnectionFile ?? Path.GetFullPath(options.PostgresConnectionFile);
        var aggregators = Enumerable.Range(0, options.Ha)
            .Select(i => new AggregatorProcess(options.Out, i == 0 ? folder : Path.Combine(folder, $"aggregator-{i + 1}"), folder, options.Tls, options.Agents, store))
            .ToArray();
        try
        {
            return await RunInAsync(options, aggregators, progress, cancellationToken);
        }
        finally
        {
            await Task.WhenAll(aggregators.Select(a => a.DisposeAsync().AsTask()));
        }
    }

    private static async Task<JsonObject> RunInAsync(FleetSimOptions options, AggregatorProcess[] aggregators, TextWriter progress, CancellationToken cancellationToken)
    {
        var aggregator = aggregators[0];
        await aggregator.PrepareAsync(cancellationToken);
        foreach (var other in aggregators.Skip(1))
        {
            other.ShareFrom(aggregator);
        }

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { Timeout = TimeSpan.FromSeconds(60) };
        var apis = aggregators.Select(a => new FleetApi(http, a.HttpPort, aggregator.ReadToken)).ToArray();
        var api = apis[0];

        var (ca, certificates) = options.Tls ? Certificates(aggregator.CertificateFolder, options) : (null, new X509Certificate2?[options.Agents]);
        // Every agent is given every aggregator's link, in the same order, as make run HA=3 configures them.
        var link = new FleetLink([.. aggregators.Select(a => a.LinkAddress)], ca, options.Gpus, options.TelemetryEvery);
        var agents = Enumerable.Range(0, options.Agents).Select(i => new SimulatedAgent(i, link, certificates[i], options.NodesPerCluster)).ToArray();
        var (stopped, hung) = Faulted(agents, options.StopCount, options.HangCount);
        var running = agents.Except(stopped).Except(hung).ToArray();

        // With several, the first is started alone, so it is elected on the fresh database, and the others follow it.
        foreach (var (started, i) in aggregators.Select((a, i) => (a, i)))
        {
            await started.StartAsync(apis[i], cancellationToken);
        }

        var leader = 0;
        if (options.Ha > 1)
        {
            var view = await api.LeaderAsync(cancellationToken);
            leader = Array.FindIndex(aggregators, a => a.LinkAddress == view.LeaderLinkUrl);
            if (leader < 0)
            {
                throw new InvalidOperationException($"the leader '{view.LeaderId}' ({view.LeaderLinkUrl}) is none of this run's aggregators: is the database of --postgres-connection-file in use by others?");
            }

            aggregator = aggregators[leader];
            api = apis[leader];
            await progress.WriteLineAsync($"fleetsim: {options.Ha} aggregators on PostgreSQL (pids {string.Join(", ", aggregators.Select(a => a.Pid))}, links {string.Join(", ", link.Addresses)}); the leader is pid {aggregator.Pid}, term {view.Term}");
        }

        await progress.WriteLineAsync($"fleetsim: aggregator pid {aggregator.Pid} on link {aggregator.LinkAddress}, API port {aggregator.HttpPort}; connecting {options.Agents} agents with {options.Gpus} GPUs each");

        using var runStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var connectGate = new SemaphoreSlim(options.ConnectConcurrency);
        var connecting = Stopwatch.StartNew();
        var runs = agents.Select(a => Task.Run(() => a.RunAsync(connectGate, runStop.Token), CancellationToken.None)).ToArray();
        var report = new JsonObject();
        async Task StopAgentsAsync()
        {
            await runStop.CancelAsync();
            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        try
        {
            var allowed = TimeSpan.FromSeconds(Math.Max(60, options.Agents / 50.0));
            await Task.WhenAll(agents.Select(a => a.FirstWelcome.Task)).WaitAsync(allowed, cancellationToken);
            await WaitForAsync(api, agents, allowed, cancellationToken);
            var connectMs = connecting.Elapsed.TotalMilliseconds;
            var steadySince = Stopwatch.StartNew();
            await progress.WriteLineAsync($"fleetsim: all {options.Agents} agents alive after {connectMs / 1000:F1} s; measuring {options.Seconds} s");

            var steady = await MeasureSteadyAsync(options, aggregator, api, link, running, progress, cancellationToken);
            var faults = await FaultAsync(options, aggregator, stopped, hung, progress, cancellationToken);
            double? restartMs = null;
            var notBack = 0;
            if (options.Ha == 1 && options.Restart != "none")
            {
                (restartMs, notBack) = await RestartAsync(options, aggregator, api, running, progress, cancellationToken);
            }

            JsonObject? failover = null;
            var killedAt = DateTimeOffset.MaxValue;
            if (options.KillLeaderAfter > 0)
            {
                var rest = TimeSpan.FromSeconds(options.KillLeaderAfter) - steadySince.Elapsed;
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, cancellationToken);
                }

                (failover, killedAt) = await LeaderFailover.RunAsync(aggregators, apis, leader, agents, progress, cancellationToken);
            }

            // A verdict on a node that was not faulted is a false one when the agent sent a heartbeat within the lease
            // before it; without one, the simulator itself fell behind (its own CPU), and the run says so apart. After a
            // leader's kill every agent is without a stream for a while: verdicts then are counted apart.
            await StopAgentsAsync();
            var verdicts = aggregators.Select(a => new LostVerdicts(a.LogFile)).ToArray();
            foreach (var log in verdicts)
            {
                log.Refresh();
            }

            var byId = agents.ToDictionary(a => a.NodeId);
            var faultedIds = stopped.Concat(hung).Select(a => a.NodeId).ToHashSet();
            var unfaulted = verdicts.SelectMany(v => v.All).Where(v => v.At < killedAt && !faultedIds.Contains(v.NodeId) && byId.ContainsKey(v.NodeId)).ToArray();
            var falseLost = unfaulted.Count(v => byId[v.NodeId].HeartbeatedWithin(v.At, link.Lease));
            var simulatorStalls = unfaulted.Length - falseLost;

            report["agents"] = options.Agents;
            report["gpus"] = options.Gpus;
            report["seconds"] = options.Seconds;
            report["ingestPerSecond"] = Round(steady.IngestPerSecond);
            report["aggregatorCpuPercent"] = Round(steady.AggregatorCpuPercent);
            report["aggregatorRssMb"] = Round(steady.AggregatorRssMb);
            report["visibleP99Ms"] = Round(steady.Visible.P99);
            report["lostDetectP99Ms"] = Round(faults.P99);
            report["lostDetectMaxMs"] = Round(faults.Max);
            report["falseLost"] = falseLost;
            report["restartRecoverMs"] = Round(restartMs);
            report["visibleP50Ms"] = Round(steady.Visible.P50);
            report["visibleSamples"] = steady.Visible.Count;
            report["lostDetectP50Ms"] = Round(faults.P50);
            report["lostDetected"] = faults.Detected;
            report["lostNotDetected"] = faults.Missed;
            report["stopped"] = stopped.Length;
            report["hung"] = hung.Length;
            report["notBackAfterRestart"] = notBack;
            report["simulatorStalls"] = simulatorStalls;
            report["heartbeatsSeenPerSecond"] = Round(steady.HeartbeatsSeenPerSecond);
            report["connectMs"] = Round(connectMs);
            report["simulatorCpuPercent"] = Round(steady.SimulatorCpuPercent);
            report["simulatorRssMb"] = Round(steady.SimulatorRssMb);
            report["streamFailures"] = link.StreamFailures;
            report["commands"] = link.Commands;
            report["tls"] = options.Tls;
            report["telemetryEvery"] = options.TelemetryEvery;
            if (options.Ha > 1)
            {
                report["ha"] = options.Ha;
                if (failover is not null)
                {
                    failover["lostAfterKill"] = verdicts.SelectMany(v => v.All).Count(v => v.At >= killedAt && byId.ContainsKey(v.NodeId));
                    report["failover"] = failover;
                }
            }

            return report;
        }
        finally
        {
            await StopAgentsAsync();
            foreach (var certificate in certificates)
            {
                certificate?.Dispose();
            }

            ca?.Dispose();
        }
    }

    private sealed record Steady(double IngestPerSecond, double HeartbeatsSeenPerSecond, double AggregatorCpuPercent, double AggregatorRssMb, double SimulatorCpuPercent, double SimulatorRssMb, (double? P50, double? P99, int Count) Visible);

    private static async Task<Steady> MeasureSteadyAsync(FleetSimOptions options, AggregatorProcess aggregator, FleetApi api, FleetLink link, SimulatedAgent[] running, TextWriter progress, CancellationToken cancellationToken)
    {
        var visible = new ConcurrentBag<double>();
        using var window = new CancellationTokenSource();
        var probing = new ConcurrentDictionary<string, bool>();
        var sampled = running.Take(options.VisibilitySamples).ToArray();
        foreach (var agent in sampled)
        {
            // One heartbeat of each sampled agent in flight at a time: its send time to the API showing its sequence.
            agent.HeartbeatSent = (a, sequence, sentAt) =>
            {
                if (!window.IsCancellationRequested && probing.TryAdd(a.NodeId, true))
                {
                    _ = Task.Run(async () =>
                    {
                        try
                        {
                            var ms = await VisibleAfterAsync(api, a.NodeId, sequence, sentAt, window.Token);
                            if (ms is { } value)
                            {
                                visible.Add(value);
                            }
                        }
                        finally
                        {
                            probing.TryRemove(a.NodeId, out _);
                        }
                    }, CancellationToken.None);
                }
            };
        }

        var before = await api.NodesAsync(cancellationToken);
        var wall = Stopwatch.StartNew();
        var cpu = aggregator.CpuTime();
        var ownCpu = ProcStat.CpuTime(null);
        var sent = link.Sent;
        long rss = 0, ownRss = 0;
        while (wall.Elapsed < TimeSpan.FromSeconds(options.Seconds))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(1, (options.Seconds * 1000) - wall.ElapsedMilliseconds))), cancellationToken);
            rss = Math.Max(rss, aggregator.ResidentBytes());
            ownRss = Math.Max(ownRss, ProcStat.ResidentBytes(null));
        }

        var seconds = wall.Elapsed.TotalSeconds;
        var cpuUsed = aggregator.CpuTime() - cpu;
        var ownCpuUsed = ProcStat.CpuTime(null) - ownCpu;
        var messages = link.Sent - sent;
        await window.CancelAsync();
        foreach (var agent in sampled)
        {
            agent.HeartbeatSent = null;
        }

        var after = await api.NodesAsync(cancellationToken);
        var seen = after.Sum(n => before.TryGetValue(n.Key, out var b) ? (double)(n.Value.LastSequence - Math.Min(b.LastSequence, n.Value.LastSequence)) : 0);
        var samples = visible.ToArray();
        var steady = new Steady(
            messages / seconds,
            seen / seconds,
            cpuUsed.TotalSeconds / seconds * 100,
            rss / 1048576.0,
            ownCpuUsed.TotalSeconds / seconds * 100,
            ownRss / 1048576.0,
            (Percentiles.Of(samples, 50), Percentiles.Of(samples, 99), samples.Length));
        await progress.WriteLineAsync($"fleetsim: window {seconds:F1} s: {steady.IngestPerSecond:F0} messages/s, aggregator {steady.AggregatorCpuPercent:F1} % of a core and {steady.AggregatorRssMb:F0} MiB, visible p99 {steady.Visible.P99:F1} ms ({samples.Length} samples)");
        return steady;
    }

    /// <summary>Polls the node until the API shows <paramref name="sequence"/>; the milliseconds from the send, or null when the window closed first.</summary>
    private static async Task<double?> VisibleAfterAsync(FleetApi api, string nodeId, ulong sequence, long sentAt, CancellationToken window)
    {
        try
        {
            while (!window.IsCancellationRequested)
            {
                var node = await api.NodeAsync(nodeId, window);
                if (node is { } state && state.LastSequence >= sequence)
                {
                    return Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds;
                }

                await Task.Delay(2, window);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    private sealed record Faults(double? P50, double? P99, double? Max, int Detected, int Missed);

    private static async Task<Faults> FaultAsync(FleetSimOptions options, AggregatorProcess aggregator, SimulatedAgent[] stopped, SimulatedAgent[] hung, TextWriter progress, CancellationToken cancellationToken)
    {
        var faulted = stopped.Concat(hung).ToArray();
        if (faulted.Length == 0)
        {
            return new Faults(null, null, null, 0, 0);
        }

        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        foreach (var agent in stopped)
        {
            agent.StopAbruptly();
        }

        foreach (var agent in hung)
        {
            agent.Hang();
        }

        // The bound the issue sets is 3 intervals + 100 ms; wait well past it so a late verdict is still timed.
        var verdicts = new LostVerdicts(aggregator.LogFile);
        var waiting = Stopwatch.StartNew();
        while (waiting.Elapsed < TimeSpan.FromSeconds(30) && faulted.Any(a => verdicts.First(a.NodeId, since) is null))
        {
            await Task.Delay(100, cancellationToken);
            verdicts.Refresh();
        }

        var times = new List<double>();
        foreach (var agent in faulted)
        {
            if (verdicts.First(agent.NodeId, since) is { } at)
            {
                times.Add((at - agent.LastHeartbeatWallClock).TotalMilliseconds);
            }
        }

        var faults = new Faults(Percentiles.Of(times, 50), Percentiles.Of(times, 99), times.Count == 0 ? null : times.Max(), times.Count, faulted.Length - times.Count);
        await progress.WriteLineAsync($"fleetsim: {stopped.Length} stopped and {hung.Length} hung: {faults.Detected} found lost (p50 {faults.P50:F0} ms, p99 {faults.P99:F0} ms, max {faults.Max:F0} ms after their last heartbeat), {faults.Missed} not within 30 s");
        return faults;
    }

    private static async Task<(double? Ms, int NotBack)> RestartAsync(FleetSimOptions options, AggregatorProcess aggregator, FleetApi api, SimulatedAgent[] running, TextWriter progress, CancellationToken cancellationToken)
    {
        await aggregator.StopAsync(options.Restart);
        var restarted = Stopwatch.StartNew();
        await aggregator.StartAsync(api, cancellationToken);
        var back = await WaitForAsync(api, running, TimeSpan.FromSeconds(120), cancellationToken);
        var notBack = running.Length - back;
        double? ms = notBack == 0 ? restarted.Elapsed.TotalMilliseconds : null;
        await progress.WriteLineAsync(notBack == 0
            ? $"fleetsim: aggregator restarted ({options.Restart}); every running agent back {ms / 1000:F1} s after its start"
            : $"fleetsim: aggregator restarted ({options.Restart}); {notBack} of {running.Length} agents not back within 120 s");
        return (ms, notBack);
    }

    /// <summary>Waits until every one of <paramref name="agents"/> is connected and alive in the API; how many are.</summary>
    private static async Task<int> WaitForAsync(FleetApi api, IReadOnlyCollection<SimulatedAgent> agents, TimeSpan allowed, CancellationToken cancellationToken)
    {
        var waiting = Stopwatch.StartNew();
        var alive = 0;
        while (true)
        {
            var nodes = await api.NodesAsync(cancellationToken);
            alive = agents.Count(a => nodes.TryGetValue(a.NodeId, out var n) && n.Connected && n.Survival == "alive");
            if (alive == agents.Count || waiting.Elapsed > allowed)
            {
                return alive;
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>The agents to stop and to hang, spread over the fleet (and so over its clusters).</summary>
    private static (SimulatedAgent[] Stopped, SimulatedAgent[] Hung) Faulted(SimulatedAgent[] agents, int stop, int hang)
    {
        var count = stop + hang;
        if (count == 0)
        {
            return ([], []);
        }

        var step = agents.Length / (double)count;
        var picked = Enumerable.Range(0, count).Select(i => agents[Math.Min(agents.Length - 1, (int)(((i + 0.5) * step)))]).ToArray();
        return (picked[..stop], picked[stop..]);
    }

    /// <summary>The link CA, and a client certificate (with its key) per agent, named by its node id.</summary>
    private static (X509Certificate2 Ca, X509Certificate2?[] Certificates) Certificates(string folder, FleetSimOptions options)
    {
        using var issuer = LinkCertificates.LoadWithKey(Path.Combine(folder, CertificateAuthority.CaCertificate), Path.Combine(folder, CertificateAuthority.CaKey));
        var now = DateTimeOffset.UtcNow;
        var certificates = new X509Certificate2?[options.Agents];
        Parallel.For(0, options.Agents, i =>
        {
            var (certificate, key) = CertificateAuthority.Create(issuer, SimulatedAgent.NodeIdOf(i), server: false, [], now, TimeSpan.FromDays(1));
            using (certificate)
            using (key)
            {
                certificates[i] = certificate.CopyWithPrivateKey(key);
            }
        });
        return (X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, CertificateAuthority.CaCertificate)), certificates);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 1) : null;
}
