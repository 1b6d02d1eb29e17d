using System.Collections.Concurrent;
using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Protocol.Events;
using Drover.Protocol.Snapshots;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Agent.Instances;

/// <summary>
/// Commits each instance's state directory to the aggregator every commit interval (per function,
/// default 10 s, zero for never) and when an instance asks over the local socket: a consistent
/// snapshot (taken with the process frozen) archived to a temporary file, checksummed, skipped when
/// nothing changed, versioned, sent in chunks, and retried until the aggregator acknowledges it.
/// A state directory whose snapshot would be larger than <c>maxStateBytes</c> is refused before the
/// process is frozen (and again, should it grow while frozen, as soon as the archive passes the
/// limit): the instance's channel gets one status message and the log one warning, and the directory
/// is looked at again only every <see cref="OversizedRecheck"/> (a walk, no freeze) until it fits.
/// </summary>
internal sealed partial class StateCommitter : BackgroundService, ICommitRequester
{
    /// <summary>The default commit interval, when the spec names none.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long a committed snapshot may wait for the aggregator's acknowledgement.</summary>
    public static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How soon a failed commit is tried again (or the interval, when shorter).</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>How soon a state directory refused as too large is looked at again (or the interval, when longer).</summary>
    public static readonly TimeSpan OversizedRecheck = TimeSpan.FromMinutes(1);

    /// <summary>The Method of the status message that says a commit was refused.</summary>
    public const string CommitMethod = "STATE_COMMIT";

    // Commit intervals are whole seconds; a finer tick would only wake an idle agent for nothing.
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly InstanceManager _instances;
    private readonly AgentOutbox _outbox;
    private readonly IStatusEventSink _events;
    private readonly long _maxStateBytes;
    private readonly TimeProvider _time;
    private readonly ILogger<StateCommitter> _logger;
    private readonly ConcurrentDictionary<(string InstanceId, ulong Version, string Sha256), TaskCompletionSource<StateAck>> _pendingAcks = new();
    private readonly ConcurrentDictionary<string, long> _due = new(StringComparer.Ordinal);

    // Per instance, touched only under its StateGate: the entries already warned about as left out,
    // and whether its state is refused as too large now (said once, until it fits again).
    private readonly ConcurrentDictionary<string, InstanceNotes> _notes = new(StringComparer.Ordinal);

    public StateCommitter(InstanceManager instances, AgentOutbox outbox, IStatusEventSink events, AgentOptions options, TimeProvider time, ILogger<StateCommitter> logger)
    {
        _instances = instances;
        _outbox = outbox;
        _events = events;
        _maxStateBytes = options.MaxStateBytes;
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

    /// <summary>
    /// How long after a periodic commit the next one is due: the interval after a commit; sooner after
    /// a failure (a broken stream, a refused version); but never sooner than <see cref="OversizedRecheck"/>
    /// after a refusal for size, which only the instance can end by making its state smaller.
    /// </summary>
    public static TimeSpan NextCommitDelay(TimeSpan interval, bool failed, bool tooLarge)
        => tooLarge ? (interval > OversizedRecheck ? interval : OversizedRecheck)
            : !failed ? interval
            : (interval < RetryDelay ? interval : RetryDelay);

    /// <summary>An instance asked for a commit at once (over the local socket).</summary>
    public async Task<CommitOutcome> CommitNowAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (_instances.Find(instanceId) is not { } supervisor)
        {
            return new CommitOutcome(false, 0, $"instance '{instanceId}' does not run on this node");
        }

        var attempt = await CommitAsync(supervisor, cancellationToken);
        return new CommitOutcome(attempt.Error is null, supervisor.StateVersion, attempt.Error);
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

                foreach (var gone in _notes.Keys.Where(id => _instances.Find(id) is null).ToArray())
                {
                    _notes.TryRemove(gone, out _);
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

                    var attempt = await CommitAsync(supervisor, stoppingToken);
                    var wait = NextCommitDelay(interval, failed: attempt.Error is not null, tooLarge: attempt.TooLarge);
                    _due[supervisor.InstanceId] = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One commit of one instance (<see cref="CommitOnceAsync"/>); a copy the aggregator fences off is
    /// stopped, off this loop (its state directory is kept), and never retried.
    /// </summary>
    private async Task<Attempt> CommitAsync(InstanceSupervisor supervisor, CancellationToken cancellationToken)
    {
        var attempt = await CommitOnceAsync(supervisor, cancellationToken);
        if (attempt.FencedEpoch is { } epoch)
        {
            _ = StopFencedAsync(supervisor.InstanceId, epoch);
        }

        return attempt;
    }

    private async Task StopFencedAsync(string instanceId, ulong epoch)
    {
        try
        {
            await _instances.StopFencedAsync(instanceId, epoch);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Log.CommitFailed(_logger, instanceId, $"the fenced copy could not be stopped: {ex.Message}");
        }
    }

    /// <summary>One commit of one instance: no error when committed (or unchanged), else why not.</summary>
    private async Task<Attempt> CommitOnceAsync(InstanceSupervisor supervisor, CancellationToken cancellationToken)
    {
        var gate = supervisor.StateGate;
        await gate.WaitAsync(cancellationToken);
        var archive = Path.Combine(supervisor.Directory.Root, "snapshot.tar.tmp");
        var notes = _notes.GetOrAdd(supervisor.InstanceId, _ => new InstanceNotes());
        try
        {
            // Looked at before the freeze: a directory too large to send is never frozen for nothing.
            var survey = StateArchive.Survey(supervisor.Directory.StatePath, _maxStateBytes, supervisor.Runtime.Uid);
            foreach (var skipped in survey.Skipped)
            {
                if (notes.WarnedSkipped.Add(skipped.Name))
                {
                    Log.EntrySkipped(_logger, supervisor.InstanceId, skipped.Name, skipped.Why);
                }
            }

            if (survey.OverLimit)
            {
                return TooLarge(supervisor, notes, $"its snapshot would take at least {survey.LeastBytes} bytes");
            }

            var fits = true;
            supervisor.WhileFrozen(() => fits = StateArchive.Write(supervisor.Directory.StatePath, archive, supervisor.Runtime.Uid, _maxStateBytes));
            if (!fits)
            {
                return TooLarge(supervisor, notes, "it grew past the limit while its snapshot was taken");
            }

            notes.TooLarge = false;
            var (size, sha) = StateArchive.Measure(archive);
            if (sha == supervisor.StateSha256)
            {
                return Attempt.Done;
            }

            if (!_outbox.IsConnected)
            {
                return new Attempt("the agent is not connected to an aggregator", false);
            }

            var version = supervisor.StateVersion + 1;
            var ack = new TaskCompletionSource<StateAck>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingAcks[(supervisor.InstanceId, version, sha)] = ack;
            try
            {
                if (await SendAsync(supervisor, archive, version, size, sha, cancellationToken) is { } sendError)
                {
                    return new Attempt(sendError, false);
                }

                var answer = await ack.Task.WaitAsync(AckTimeout, _time, cancellationToken);
                if (!answer.Ok && answer.Fenced)
                {
                    // This copy was started under an older assignment than the instance's: the state
                    // is no longer its to commit. No version jump, no retry: the copy stops.
                    Log.CommitFenced(_logger, supervisor.InstanceId, version, supervisor.Spec.Epoch, answer.Error);
                    return new Attempt(answer.Error, false, supervisor.Spec.Epoch);
                }

                if (!answer.Ok)
                {
                    // A stale version (the aggregator holds a newer one): continue from its number.
                    if (answer.Version > supervisor.StateVersion)
                    {
                        supervisor.StateCommitted(answer.Version, "");
                    }

                    Log.CommitRefused(_logger, supervisor.InstanceId, version, answer.Error);
                    return new Attempt(answer.Error, false);
                }

                supervisor.StateCommitted(version, sha);
                Log.Committed(_logger, supervisor.InstanceId, version, size);
                return Attempt.Done;
            }
            finally
            {
                _pendingAcks.TryRemove((supervisor.InstanceId, version, sha), out _);
            }
        }
        catch (TimeoutException)
        {
            return new Attempt($"the aggregator did not acknowledge the snapshot within {AckTimeout.TotalSeconds} s", false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or Grpc.Core.RpcException)
        {
            Log.CommitFailed(_logger, supervisor.InstanceId, ex.Message);
            return new Attempt(ex.Message, false);
        }
        finally
        {
            File.Delete(archive);
            gate.Release();
        }
    }

    /// <summary>
    /// A refusal for size: said once per episode (a warning, and a failed status message on the
    /// instance's channel), since the state stays too large until the instance makes it smaller.
    /// </summary>
    private Attempt TooLarge(InstanceSupervisor supervisor, InstanceNotes notes, string detail)
    {
        var error = $"the state directory of instance '{supervisor.InstanceId}' is too large to commit: {detail}, over maxStateBytes = {_maxStateBytes}; "
            + $"nothing was committed, and it is looked at again every {OversizedRecheck.TotalSeconds:0} s until it fits";
        if (!notes.TooLarge)
        {
            notes.TooLarge = true;
            Log.StateTooLarge(_logger, supervisor.InstanceId, error);
            _events.Publish(new StatusEvent
            {
                Channel = EventChannels.Of(supervisor.Spec),
                Status = RequestStatus.Failed,
                Method = CommitMethod,
                NodeId = _instances.NodeId,
                InstanceId = supervisor.InstanceId,
                Reason = error,
                At = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
            });
        }

        return new Attempt(error, true);
    }

    /// <summary>Sends the archive in chunks, each waiting until the previous one is on the wire, so memory stays at one chunk.</summary>
    private async Task<string?> SendAsync(InstanceSupervisor supervisor, string archive, ulong version, long size, string sha, CancellationToken cancellationToken)
    {
        await using var input = File.OpenRead(archive);
        await foreach (var chunk in SnapshotChunks.ReadAsync(input, supervisor.InstanceId, supervisor.Spec.Function, version, size, sha, _time.GetUtcNow(), cancellationToken))
        {
            // The epoch the copy was started with: the aggregator fences off a copy whose instance moved on.
            chunk.Epoch = supervisor.Spec.Epoch;
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

        [LoggerMessage(EventId = 2904, EventName = "StateTooLarge", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}' state not committed: {Reason}.")]
        public static partial void StateTooLarge(ILogger logger, string instanceId, string reason);

        [LoggerMessage(EventId = 2905, EventName = "StateEntrySkipped", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}' state: '{Path}' is {Why}; it is left out of every commit.")]
        public static partial void EntrySkipped(ILogger logger, string instanceId, string path, string why);

        [LoggerMessage(EventId = 2906, EventName = "StateCommitFenced", Level = LogLevel.Warning,
            Message = "The aggregator fenced off this copy of instance '{InstanceId}' (started under epoch {Epoch}) and refused its version {Version}: {Reason}. The copy is stopped, its state directory kept; no retry.")]
        public static partial void CommitFenced(ILogger logger, string instanceId, ulong version, ulong epoch, string reason);
    }

    /// <summary>How one commit went: no error when committed or unchanged; whether it was refused for size; the epoch of a copy fenced off.</summary>
    private readonly record struct Attempt(string? Error, bool TooLarge, ulong? FencedEpoch = null)
    {
        public static readonly Attempt Done = new(null, false);
    }

    private sealed class InstanceNotes
    {
        public HashSet<string> WarnedSkipped { get; } = new(StringComparer.Ordinal);

        public bool TooLarge { get; set; }
    }
}
