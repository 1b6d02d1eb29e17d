namespace Drover.Aggregator.Placement;

/// <summary>
/// One ordered lane of sends per node, so that what the actuator sends to one node never waits on
/// another node's stream. Work posted to a node runs after the work posted to it before, and at once
/// (inline, on the poster's thread, until its first wait) when the lane is idle: with room in the
/// node's outbox a send is done when <see cref="Post"/> returns. A node whose outbox is full holds up
/// only its own lane, and only for the send timeout (<c>linkSendTimeoutMs</c>), after which its stream
/// is aborted and the rest of its lane finds it disconnected.
/// </summary>
internal sealed partial class NodeSendLanes
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    public NodeSendLanes(ILogger logger) => _logger = logger;

    /// <summary>Runs <paramref name="work"/> on <paramref name="nodeId"/>'s lane; never waits for it. A failure is logged, and the lane goes on.</summary>
    public void Post(string nodeId, Func<Task> work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_gate)
        {
            previous = _tails.GetValueOrDefault(nodeId) ?? Task.CompletedTask;
            _tails[nodeId] = done.Task;
        }

        _ = RunAsync(nodeId, previous, work, done);
    }

    /// <summary>Completes once every lane has run what was posted to it so far: a seam for tests, and for a clean stop.</summary>
    public Task IdleAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_tails.Values.ToArray());
        }
    }

    private async Task RunAsync(string nodeId, Task previous, Func<Task> work, TaskCompletionSource done)
    {
        try
        {
            // Never faults: every lane task is a TaskCompletionSource set below. Completed: runs on inline.
            await previous;
            await work();
        }
        catch (OperationCanceledException)
        {
            // The aggregator is stopping.
        }
        catch (Exception ex)
        {
            // A store read for a restore failed, or worse: this send is lost, the reconciler sends
            // unconfirmed starts again. Nobody awaits a lane, so an exception not logged here is lost.
            Log.SendFailed(_logger, ex, nodeId, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                if (_tails.TryGetValue(nodeId, out var tail) && tail == done.Task)
                {
                    _tails.Remove(nodeId);
                }
            }

            done.SetResult();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1404, EventName = "NodeSendFailed", Level = LogLevel.Error,
            Message = "Sending to node '{NodeId}' failed: {Reason}. Unconfirmed starts are sent again by a later pass.")]
        public static partial void SendFailed(ILogger logger, Exception exception, string nodeId, string reason);
    }
}
