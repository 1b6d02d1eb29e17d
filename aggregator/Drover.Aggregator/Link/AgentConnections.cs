using System.Collections.Concurrent;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>The open agent streams by node id: how actuators reach an agent.</summary>
internal sealed class AgentConnections
{
    private readonly ConcurrentDictionary<string, AgentConnection> _byNode = new(StringComparer.Ordinal);

    /// <summary>Makes <paramref name="connection"/> the node's current stream; the one it replaces is closed.</summary>
    public void Add(AgentConnection connection)
    {
        AgentConnection? previous = null;
        _byNode.AddOrUpdate(
            connection.NodeId,
            connection,
            (_, old) =>
            {
                previous = old;
                return connection;
            });
        previous?.Complete();
    }

    public void Remove(AgentConnection connection)
    {
        _byNode.TryRemove(new KeyValuePair<string, AgentConnection>(connection.NodeId, connection));
        connection.Complete();
    }

    public bool IsConnected(string nodeId) => _byNode.ContainsKey(nodeId);

    /// <summary>The id of the node's current stream, or null when it has none: what an agent acknowledged on an earlier stream it may have forgotten.</summary>
    public Guid? StreamOf(string nodeId) => _byNode.TryGetValue(nodeId, out var connection) ? connection.Id : null;

    /// <summary>The node's current stream, or null when it has none.</summary>
    public AgentConnection? Find(string nodeId) => _byNode.TryGetValue(nodeId, out var connection) ? connection : null;

    /// <summary>Aborts the node's current stream (see <see cref="AgentConnection.Abort"/>); false when it has none.</summary>
    public bool Abort(string nodeId, string reason)
    {
        if (!_byNode.TryGetValue(nodeId, out var connection))
        {
            return false;
        }

        connection.Abort(reason);
        return true;
    }

    /// <summary>Every open stream now, one per connected node.</summary>
    public IReadOnlyList<AgentConnection> Snapshot() => _byNode.Values.ToArray();

    /// <summary>Queues any message for a connected node; false when it has no open stream or its outbox is full.</summary>
    public bool TrySend(string nodeId, AggregatorMessage message)
        => _byNode.TryGetValue(nodeId, out var connection) && connection.TrySend(message);

    /// <summary>Sends a command to a connected node; false when it has no open stream or its outbox is full.</summary>
    public bool TrySend(string nodeId, Command command) => TrySend(nodeId, new AggregatorMessage { Command = command });
}
