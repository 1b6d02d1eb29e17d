using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// Who waits for which command's result: an actuator registers a callback under the command id before
/// sending it, and the link hands it the node's CommandResult. Entries nobody answered are dropped
/// after <see cref="Expiry"/>, so a node that never answers does not grow the table.
/// </summary>
internal sealed class CommandResults
{
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string NodeId, long At, Action<CommandResult> OnResult)> _pending = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public CommandResults(TimeProvider time) => _time = time;

    public void Expect(string commandId, string nodeId, Action<CommandResult> onResult)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            foreach (var stale in _pending.Where(p => _time.GetElapsedTime(p.Value.At, now) > Expiry).Select(p => p.Key).ToArray())
            {
                _pending.Remove(stale);
            }

            _pending[commandId] = (nodeId, now, onResult);
        }
    }

    /// <summary>Hands a node's result to whoever waits for it; a result from another node than the command's is ignored.</summary>
    public void Complete(string nodeId, CommandResult result)
    {
        Action<CommandResult>? onResult = null;
        lock (_gate)
        {
            if (_pending.TryGetValue(result.CommandId, out var pending) && pending.NodeId == nodeId)
            {
                _pending.Remove(result.CommandId);
                onResult = pending.OnResult;
            }
        }

        onResult?.Invoke(result);
    }
}
