using System.Collections.Concurrent;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Protocol.Snapshots;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// Commits each instance's state directory to the aggregator every commit interval (per function,
/// default 10 s, zero for never) and when an instance asks over the local socket: a consistent
/// snapshot (taken with the process frozen) archived to a temporary file, checksummed, skipped when
/// nothing changed, versioned, sent in chunks, and retried until the aggregator acknowledges it.
/// </summary>
internal sealed partial class StateCommitter : BackgroundService, ICommitRequester
{
    /// <summary>The default commit interval, when the spec names none.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long a committed snapshot may wait for the aggregator's acknowledgement.</summary>
    public static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How soon a failed commit is tried again (or the interval, when shorter).</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    // Commit intervals are whole seconds; a finer tick would only wake an idle agent for nothing.
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly InstanceManager _instances;
    private readonly AgentOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<StateCommitter> _logger;
    private readonly ConcurrentDictionary<(string InstanceId, ulong Version, string Sha256), TaskCompletionSource<StateAck>> _pendingAcks = new();
    private readonly ConcurrentDictionary<string, long> _due = new(StringComparer.Ordinal);

    public StateCommitter(InstanceManager instances, AgentOutbox outbox, TimeProvider time, ILogger<StateCommitter> logger)
    {
        _instances = instances;
        _outbox = outbox;
        _time = time;
        _logger = logger;

        // An ack that was not sent before the stream broke will never come: fail the waits now
        // rather than after AckTimeout.
        _outbox.Disconnected += () =>
        {
            foreach (var pending in _pendingAcks.Values)
            {
                pending.TrySetException(new IOException("the stream to the aggregator ended before the snapshot was acknowledged"));
            }
        };
    }

    public static TimeSpan IntervalOf(InstanceSpec spec) => spec.CommitInterval is { } interval ? interval.ToTimeSpan() : DefaultInterval;

    /// <summary>The aggregator's answer to a snapshot.</summary>
    public void Acknowledge(StateAck ack)
    {
        foreach (var (key, pending) in _pendingAcks)
        {
            // Matched on the checksum too: a late answer to an earlier attempt at the same version
            // must not be taken for this attempt's.
            if (key.InstanceId == ack.InstanceId && key.Sha256 == ack.Sha256 && (key.Version == ack.Version || !ack.Ok))
            {
                pending.TrySetResult(ack);
            }
        }
    }

    /// <summary>An instance asked for a commit at once (over the local socket).</summary>
    public async Task<CommitOutcome> CommitNowAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (_instances.Find(instanceId) is not { } supervisor)
        {
            return new CommitOutcome(false, 0, $"instance '{instanceId}' does not run on this node");
        }

        var error = await CommitAsync(supervisor, cancellationToken);
        return new CommitOutcome(error is null, supervisor.StateVersion, error);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = _time.GetTimestamp();
                foreach (var gone in _due.Keys.Where(id => _instances.Find(id) is null).ToArray())
                {
                    // The instance was stopped: its schedule goes with it.
                    _due.TryRemove(gone, out _);
                }

                foreach (var supervisor in _instances.All)
                {
                    var interval = IntervalOf(supervisor.Spec);
                    if (interval <= TimeSpan.Zero)
                    {
                        continue;
                    }

                    var due = _due.GetOrAdd(supervisor.InstanceId, _ => now + (long)(interval.TotalSeconds * _time.TimestampFrequency));
                    if (now < due)
                    {
                        continue;
                    }

                    var error = await CommitAsync(supervisor, stoppingToken);
                    var wait = error is null ? interval : (interval < RetryDelay ? interval : RetryDelay);
                    _due[supervisor.InstanceId] = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One commit of one instance; null when committed (or unchanged), else why not.</summary>
    private async Task<string?> CommitAsync(InstanceSupervisor supervisor, CancellationToken cancellationToken)
    {
        var gate = supervisor.StateGate;
        await gate.WaitAsync(cancellationToken);
        var archive = Path.Combine(supervisor.Directory.Root, "snapshot.tar.tmp");
        try
        {
            supervisor.WhileFrozen(() => StateArchive.Write(supervisor.Directory.StatePath, archive));
            var (size, sha) = StateArchive.Measure(archive);
            if (sha == supervisor.StateSha256)
            {
                return null;
            }

            if (!_outbox.IsConnected)
            {
                return "the agent is not connected to an aggregator";
            }

            var version = supervisor.StateVersion + 1;
            var ack = new TaskCompletionSource<StateAck>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingAcks[(supervisor.InstanceId, version, sha)] = ack;
            try
            {
                if (await SendAsync(supervisor, archive, version, size, sha, cancellationToken) is { } sendError)
                {
                    return sendError;
                }

                var answer = await ack.Task.WaitAsync(AckTimeout, _time, cancellationToken);
                if (!answer.Ok)
                {
                    // A stale version (the aggregator holds a newer one): continue from its number.
                    if (answer.Version > supervisor.StateVersion)
                    {
                        supervisor.StateCommitted(answer.Version, "");
                    }

                    Log.CommitRefused(_logger, supervisor.InstanceId, version, answer.Error);
                    return answer.Error;
                }

                supervisor.StateCommitted(version, sha);
                Log.Committed(_logger, supervisor.InstanceId, version, size);
                return null;
            }
            finally
            {
                _pendingAcks.TryRemove((supervisor.InstanceId, version, sha), out _);
            }
        }
        catch (TimeoutException)
        {
            return $"the aggregator did not acknowledge the snapshot within {AckTimeout.TotalSeconds} s";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or Grpc.Core.RpcException)
        {
            Log.CommitFailed(_logger, supervisor.InstanceId, ex.Message);
            return ex.Message;
        }
        finally
        {
            File.Delete(archive);
            gate.Release();
        }
    }

    /// <summary>Sends the archive in chunks, each waiting until the previous one is on the wire, so memory stays at one chunk.</summary>
    private async Task<string?> SendAsync(InstanceSupervisor supervisor, string archive, ulong version, long size, string sha, CancellationToken cancellationToken)
    {
        await using var input = File.OpenRead(archive);
        await foreach (var chunk in SnapshotChunks.ReadAsync(input, supervisor.InstanceId, supervisor.Spec.Function, version, size, sha, _time.GetUtcNow(), cancellationToken))
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_outbox.TrySend(new OutgoingMessage(new AgentMessage { StateChunk = chunk }, written)))
            {
                return "the link to the aggregator closed while sending the snapshot";
            }

            await written.Task.WaitAsync(AckTimeout, _time, cancellationToken);
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2901, EventName = "StateCommitted", Level = LogLevel.Debug,
            Message = "Instance '{InstanceId}' state committed as version {Version} ({Bytes} bytes).")]
        public static partial void Committed(ILogger logger, string instanceId, ulong version, long bytes);

        [LoggerMessage(EventId = 2902, EventName = "StateCommitRefused", Level = LogLevel.Warning,
            Message = "The aggregator refused version {Version} of instance '{InstanceId}': {Reason}. Retrying.")]
        public static partial void CommitRefused(ILogger logger, string instanceId, ulong version, string reason);

        [LoggerMessage(EventId = 2903, EventName = "StateCommitFailed", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}' state could not be committed: {Reason}. Retrying.")]
        public static partial void CommitFailed(ILogger logger, string instanceId, string reason);
    }
}
