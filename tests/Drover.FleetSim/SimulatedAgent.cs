using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Drover.Protocol.V1;
using Drover.Protocol.Security;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Drover.FleetSim;

/// <summary>What a simulated agent is doing, as the run sets it.</summary>
internal enum AgentMode
{
    /// <summary>Connected (or reconnecting), sending heartbeats, telemetry and shim counters, answering.</summary>
    Running,

    /// <summary>Stopped abruptly: its stream was reset, with no goodbye, and it does not come back.</summary>
    Stopped,

    /// <summary>Hung: its connection stays open, and it neither reads nor writes on its stream any more.</summary>
    Hung,
}

/// <summary>
/// One simulated agent on its own HTTP/2 connection (and TLS session, with its own client certificate): the
/// real agent's side of the link without its processes. It sends Hello, waits for Welcome, then every
/// interval (with ±5 % jitter) a heartbeat, a telemetry message for its GPUs and its shim counters; it answers
/// survival probes at once and every command with success (a started instance reported running, a stopped
/// one stopped); it reconnects with a jittered backoff, as the agent does, when its stream ends. With several
/// aggregators it follows a Redirect as the agent's AgentLinkClient does: the leader named is dialled at once
/// (once: a second Redirect from it goes back to the addresses in turn), and a Redirect naming none waits the
/// initial backoff before the next address.
/// </summary>
internal sealed class SimulatedAgent
{
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly FleetLink _link;
    private readonly X509Certificate2? _certificate;
    private readonly Random _random;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<string, InstanceReport> _instances = [];
    private CancellationTokenSource? _stream;
    private ulong _sequence;
    private int _addressIndex;
    private long _attempts;
    private long _redirects;
    private long _emptyRedirects;
    private readonly GpuInfo[] _gpus;

    public SimulatedAgent(int index, FleetLink link, X509Certificate2? certificate, int nodesPerCluster)
    {
        Index = index;
        NodeId = NodeIdOf(index);
        Cluster = $"sim-{index / nodesPerCluster}";
        ServerNumber = (uint)(index % nodesPerCluster) + 1;
        _link = link;
        _certificate = certificate;
        _random = new Random(index);
        _gpus = [.. Enumerable.Range(0, link.Gpus).Select(g => new GpuInfo
        {
            Index = (uint)g,
            Uuid = $"GPU-{index:x8}-0000-4000-8000-{g:x12}",
            Name = "NVIDIA H100 80GB HBM3",
            PciBusId = $"00000000:{0x17 + g:X2}:00.0",
        })];
    }

    public int Index { get; }

    /// <summary>The node id of the agent at <paramref name="index"/>, as its certificate names it.</summary>
    public static string NodeIdOf(int index) => $"sim-{index:D6}";

    public string NodeId { get; }

    public string Cluster { get; }

    public uint ServerNumber { get; }

    public volatile AgentMode Mode;

    /// <summary>Set once the first Welcome came.</summary>
    public TaskCompletionSource FirstWelcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether a stream is open and welcomed now.</summary>
    public bool Connected { get; private set; }

    /// <summary>Stopwatch timestamp of the last heartbeat handed to the stream (0: none yet).</summary>
    public long LastHeartbeatAt { get; private set; }

    /// <summary>Wall-clock time of the last heartbeat handed to the stream.</summary>
    public DateTimeOffset LastHeartbeatWallClock { get; private set; }

    /// <summary>When each heartbeat was handed to the stream (UTC ticks), written by the agent's loop only; read once it ended.</summary>
    public List<long> HeartbeatTimes { get; } = [];

    /// <summary>Whether a heartbeat was handed to the stream in (<paramref name="at"/> - <paramref name="lease"/>, <paramref name="at"/>].</summary>
    public bool HeartbeatedWithin(DateTimeOffset at, TimeSpan lease)
    {
        var from = (at - lease).UtcTicks;
        var to = at.UtcTicks;
        return HeartbeatTimes.Exists(t => t > from && t <= to);
    }

    /// <summary>Called after each heartbeat is written: the sequence and the stopwatch timestamp it was sent at.</summary>
    public Action<SimulatedAgent, ulong, long>? HeartbeatSent { get; set; }

    /// <summary>Called on the agent's loop at each Welcome: the Welcome and the stopwatch timestamp it came at.</summary>
    public Action<SimulatedAgent, Welcome, long>? Welcomed { get; set; }

    /// <summary>Streams opened (each a connection dialled and a Hello sent), counted from the start.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>Redirects answered to this agent's Hellos, naming a leader or none.</summary>
    public long Redirects => Interlocked.Read(ref _redirects);

    /// <summary>Of <see cref="Redirects"/>, those naming no leader (an election under way).</summary>
    public long EmptyRedirects => Interlocked.Read(ref _emptyRedirects);

    /// <summary>Runs until <paramref name="stop"/>, or until the agent is stopped or hangs; reconnects in between.</summary>
    public async Task RunAsync(SemaphoreSlim connectGate, CancellationToken stop)
    {
        var backoff = InitialBackoff;
        // As the agent: the leader a follower named is dialled next, outside the rotation over the addresses.
        string? leaderAddress = null;
        while (!stop.IsCancellationRequested && Mode == AgentMode.Running)
        {
            var followed = leaderAddress is not null;
            var address = leaderAddress ?? _link.Addresses[_addressIndex % _link.Addresses.Count];
            leaderAddress = null;
            var welcomed = false;
            Redirect? redirect = null;
            try
            {
                (welcomed, redirect) = await RunStreamAsync(address, connectGate, stop);
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or OperationCanceledException or TimeoutException or ObjectDisposedException)
            {
                _link.CountStreamFailure();
            }
            finally
            {
                Connected = false;
            }

            if (stop.IsCancellationRequested || Mode != AgentMode.Running)
            {
                return;
            }

            // The agent's reconnect at its defaults: from 200 ms, times 1.6 up to 10 s, each moved by up to ±20 %;
            // a stream that was welcomed starts the series again.
            if (welcomed)
            {
                backoff = InitialBackoff;
            }

            if (redirect is not null)
            {
                if (redirect.LeaderAddress.Length > 0 && !followed)
                {
                    leaderAddress = redirect.LeaderAddress;
                    continue;
                }

                if (redirect.LeaderAddress.Length == 0)
                {
                    // An election is under way: ask again after the initial backoff, not a grown one.
                    backoff = InitialBackoff;
                }
            }

            _addressIndex++;
            var delay = backoff * (1 + (0.2 * ((_random.NextDouble() * 2) - 1)));
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, (long)(backoff.Ticks * 1.6)));
            try
            {
                await Task.Delay(delay, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Ends the stream at once, as a crashed host does: the call is cancelled (RST_STREAM) and the connection closed.</summary>
    public void StopAbruptly()
    {
        Mode = AgentMode.Stopped;
        _stream?.Cancel();
    }

    /// <summary>Stops reading and writing; the connection stays open until the run ends.</summary>
    public void Hang() => Mode = AgentMode.Hung;

    private async Task<(bool Welcomed, Redirect? Redirect)> RunStreamAsync(string address, SemaphoreSlim connectGate, CancellationToken stop)
    {
        // The gate bounds the TLS handshakes and Hellos in progress: on one machine, thousands at once would starve
        // the simulator and the aggregator alike and time out over and over. It is held from the connection's
        // start to the Welcome, for the first connect and every reconnect.
        await connectGate.WaitAsync(stop);
        var gateHeld = true;
        try
        {
            Interlocked.Increment(ref _attempts);
            return await RunStreamAsync(address, () =>
            {
                if (gateHeld)
                {
                    gateHeld = false;
                    connectGate.Release();
                }
            }, stop);
        }
        finally
        {
            if (gateHeld)
            {
                connectGate.Release();
            }
        }
    }

    private async Task<(bool Welcomed, Redirect? Redirect)> RunStreamAsync(string address, Action answered, CancellationToken stop)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        if (_certificate is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [_certificate],
                RemoteCertificateValidationCallback = (_, presented, _, errors) =>
                    presented is X509Certificate2 server
                    && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                    && LinkCertificates.Verify(server, _link.Ca!, LinkCertificates.ServerAuth, DateTimeOffset.UtcNow) is null,
            };
        }

        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        using var scope = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _stream = scope;
        using var call = new AgentLink.AgentLinkClient(channel).Connect(cancellationToken: scope.Token);

        AggregatorMessage first;
        using (var welcomeWait = CancellationTokenSource.CreateLinkedTokenSource(scope.Token))
        {
            welcomeWait.CancelAfter(WelcomeTimeout);
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = Hello() }, welcomeWait.Token);
            if (!await call.ResponseStream.MoveNext(welcomeWait.Token))
            {
                throw new IOException("the aggregator ended the stream before its Welcome");
            }

            first = call.ResponseStream.Current;
        }

        answered();

        if (first.KindCase == AggregatorMessage.KindOneofCase.Redirect)
        {
            // A follower's only answer; it ends the stream.
            Interlocked.Increment(ref _redirects);
            if (first.Redirect.LeaderAddress.Length == 0)
            {
                Interlocked.Increment(ref _emptyRedirects);
            }

            return (false, first.Redirect);
        }

        if (first.KindCase != AggregatorMessage.KindOneofCase.Welcome)
        {
            throw new IOException($"the aggregator's first message was {first.KindCase}");
        }

        var interval = first.Welcome.HeartbeatInterval?.ToTimeSpan() ?? TimeSpan.FromSeconds(1);
        _link.Lease = first.Welcome.Lease?.ToTimeSpan() ?? interval * 3;
        Connected = true;
        _link.CountWelcome();
        FirstWelcome.TrySetResult();
        Welcomed?.Invoke(this, first.Welcome, Stopwatch.GetTimestamp());

        // As the agent does on every (re)connect: one report per instance it runs.
        foreach (var report in _instances.Values)
        {
            await WriteAsync(call.RequestStream, new AgentMessage { InstanceReport = report }, scope.Token);
        }

        var reader = ReadAsync(call, scope.Token);
        var writer = TickAsync(call.RequestStream, interval, scope.Token);
        await Task.WhenAny(reader, writer);
        if (Mode == AgentMode.Hung)
        {
            // Neither side is served any more; the connection stays open until the run ends.
            await Task.Delay(Timeout.Infinite, stop);
        }

        await scope.CancelAsync();
        await Task.WhenAll(reader, writer).ContinueWith(static _ => { }, TaskScheduler.Default);
        return (true, null);
    }

    private async Task TickAsync(IClientStreamWriter<AgentMessage> stream, TimeSpan interval, CancellationToken cancellationToken)
    {
        // As the agent: the first heartbeat at once after Welcome, then one every interval; the fleet's heartbeats
        // spread over the interval as its connections did, and the jitter spreads them further.
        while (!cancellationToken.IsCancellationRequested && Mode == AgentMode.Running)
        {
            var sentAt = Stopwatch.GetTimestamp();
            var sequence = ++_sequence;
            await WriteAsync(stream, new AgentMessage { Heartbeat = Heartbeat(sequence) }, cancellationToken);
            LastHeartbeatAt = sentAt;
            LastHeartbeatWallClock = DateTimeOffset.UtcNow;
            HeartbeatTimes.Add(LastHeartbeatWallClock.UtcTicks);
            HeartbeatSent?.Invoke(this, sequence, sentAt);
            // Telemetry and shim counters every telemetry interval (the agent's telemetryIntervalMs), a whole
            // number of heartbeat intervals here.
            if ((sequence - 1) % (ulong)_link.TelemetryEvery == 0)
            {
                await WriteAsync(stream, new AgentMessage { Telemetry = Telemetry() }, cancellationToken);
                await WriteAsync(stream, new AgentMessage { ShimStats = ShimStats() }, cancellationToken);
            }

            var jitter = 1 + ((_random.NextDouble() - 0.5) * 0.1);
            await Task.Delay(interval * jitter, cancellationToken);
        }
    }

    private async Task ReadAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> call, CancellationToken cancellationToken)
    {
        while (Mode == AgentMode.Running && await call.ResponseStream.MoveNext(cancellationToken))
        {
            if (Mode != AgentMode.Running)
            {
                return;
            }

            var message = call.ResponseStream.Current;
            switch (message.KindCase)
            {
                case AggregatorMessage.KindOneofCase.SurvivalProbe:
                    await WriteAsync(call.RequestStream, new AgentMessage
                    {
                        ProbeReply = new ProbeReply { Sequence = message.SurvivalProbe.Sequence, ServerNumber = ServerNumber, Port = Port, Survival = SurvivalState.Alive },
                    }, cancellationToken);
                    break;
                case AggregatorMessage.KindOneofCase.Command:
                    foreach (var answer in Answer(message.Command))
                    {
                        await WriteAsync(call.RequestStream, answer, cancellationToken);
                    }

                    break;
            }
        }
    }

    /// <summary>What a real agent answers to a command, without running anything: success, and the instance's new state.</summary>
    private IEnumerable<AgentMessage> Answer(Command command)
    {
        _link.CountCommand();
        yield return new AgentMessage { CommandResult = new CommandResult { CommandId = command.CommandId, Ok = true } };
        InstanceReport? report = null;
        switch (command.KindCase)
        {
            case Command.KindOneofCase.StartInstance:
                var spec = command.StartInstance.Spec;
                report = new InstanceReport
                {
                    InstanceId = spec.InstanceId,
                    Function = spec.Function,
                    Version = spec.Version,
                    Kind = spec.Kind,
                    State = InstanceState.Running,
                    Pid = 100_000 + _instances.Count,
                    Port = (uint)(40_000 + _instances.Count),
                    Ready = true,
                    Epoch = spec.Epoch,
                    StateVersion = command.StartInstance.Restore?.Version ?? 0,
                };
                report.GpuUuids.AddRange(spec.GpuUuids);
                _instances[spec.InstanceId] = report;
                break;
            case Command.KindOneofCase.StopInstance when _instances.Remove(command.StopInstance.InstanceId, out var stopped):
                report = stopped.Clone();
                report.State = InstanceState.Stopped;
                report.Ready = false;
                report.Pid = 0;
                break;
        }

        if (report is not null)
        {
            yield return new AgentMessage { InstanceReport = report };
        }
    }

    private async Task WriteAsync(IClientStreamWriter<AgentMessage> stream, AgentMessage message, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await stream.WriteAsync(message, cancellationToken);
            _link.CountSent();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private uint Port => (uint)(20_000 + (Index % 40_000));

    private Hello Hello()
    {
        var hello = new Hello
        {
            NodeId = NodeId,
            ServerNumber = ServerNumber,
            Port = Port,
            Cluster = Cluster,
            AgentVersion = "fleetsim",
            Hostname = NodeId,
            GpuTelemetry = new GpuTelemetryStatus { Available = true, DriverVersion = "550.54.15" },
            AnswersProbes = true,
        };
        hello.Gpus.AddRange(_gpus);
        return hello;
    }

    private Heartbeat Heartbeat(ulong sequence) => new()
    {
        Sequence = sequence,
        Survival = SurvivalState.Alive,
        AgentTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        ServerNumber = ServerNumber,
        Port = Port,
    };

    private Telemetry Telemetry()
    {
        var telemetry = new Telemetry
        {
            SampledAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Status = new GpuTelemetryStatus { Available = true, DriverVersion = "550.54.15" },
        };
        foreach (var gpu in _gpus)
        {
            var utilization = (uint)_random.Next(0, 101);
            telemetry.Gpus.Add(new GpuSample
            {
                Gpu = gpu,
                Health = GpuHealth.Ok,
                MemoryTotalBytes = 85_899_345_920,
                MemoryUsedBytes = (ulong)(85_899_345_920 * utilization / 100),
                MemoryFreeBytes = (ulong)(85_899_345_920 * (100 - utilization) / 100),
                UtilizationGpuPercent = utilization,
                UtilizationMemoryPercent = utilization / 2,
                TemperatureC = 40 + (utilization / 3),
                PowerMilliwatts = 100_000 + (utilization * 5_000),
                CommandQueueLength = utilization / 25.0,
                CommandQueueSource = CommandQueueSource.Estimated,
                SmClockMhz = 1_980,
                MemoryClockMhz = 2_619,
            });
        }

        return telemetry;
    }

    private ShimStats ShimStats()
    {
        var stats = new ShimStats();
        foreach (var group in _instances.Values.GroupBy(i => (i.Kind, i.Function)))
        {
            stats.Workloads.Add(new WorkloadStats { Kind = group.Key.Kind, Name = group.Key.Function, ReadyInstances = (uint)group.Count(), Concurrency = 1, QueueLength = 16 });
        }

        return stats;
    }
}

/// <summary>What every simulated agent shares: where the aggregators are, the link CA, the GPU count, and the fleet's counters.</summary>
internal sealed class FleetLink(IReadOnlyList<string> addresses, X509Certificate2? ca, int gpus, int telemetryEvery)
{
    private long _sent;
    private long _welcomes;
    private long _streamFailures;
    private long _commands;

    /// <summary>Every aggregator's link address, tried in turn, as the agent's <c>aggregators</c>.</summary>
    public IReadOnlyList<string> Addresses { get; } = addresses;

    public X509Certificate2? Ca { get; } = ca;

    public int Gpus { get; } = gpus;

    /// <summary>Telemetry and shim counters go with every this-many heartbeats (1: every one, as by default).</summary>
    public int TelemetryEvery { get; } = telemetryEvery;

    /// <summary>The lease the aggregator's Welcome names: how long a node may go unheard before it is lost.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(3);

    public long Sent => Interlocked.Read(ref _sent);

    public long Welcomes => Interlocked.Read(ref _welcomes);

    /// <summary>Streams that failed or broke: refused connections while the aggregator restarts count here.</summary>
    public long StreamFailures => Interlocked.Read(ref _streamFailures);

    public long Commands => Interlocked.Read(ref _commands);

    public void CountSent() => Interlocked.Increment(ref _sent);

    public void CountWelcome() => Interlocked.Increment(ref _welcomes);

    public void CountStreamFailure() => Interlocked.Increment(ref _streamFailures);

    public void CountCommand() => Interlocked.Increment(ref _commands);
}
