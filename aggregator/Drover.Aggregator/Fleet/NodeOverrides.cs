using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// The weight and priority overrides of nodes, by node id, in <c>&lt;dataDirectory&gt;/nodes.json</c>
/// (written atomically before a change is visible), so they survive an aggregator restart and apply
/// again when the node reconnects.
/// </summary>
internal sealed class NodeOverrides
{
    public const string FileName = "nodes.json";

    private readonly DefinitionFile<NodeOverride> _file;

    /// <param name="path">The file: <c>&lt;dataDirectory&gt;/nodes.json</c> (<see cref="PathIn"/>).</param>
    public NodeOverrides(string path)
        => _file = new DefinitionFile<NodeOverride>(path, "node override", o => o.NodeId);

    /// <summary>The overrides kept in <paramref name="store"/> (the aggregator's store, <c>nodes</c>).</summary>
    public NodeOverrides(IDefinitionStore store)
        => _file = new DefinitionFile<NodeOverride>(store, "nodes", "node override", o => o.NodeId);

    public static string PathIn(AggregatorOptions options) => Path.Combine(options.DataDirectory, FileName);

    public NodeOverride? Find(string nodeId) => _file.Find(nodeId);

    /// <summary>Replaces a node's override by what <paramref name="change"/> makes of it; an empty one is removed. Returns the override now in force, or null.</summary>
    public NodeOverride? Change(string nodeId, Func<NodeOverride, NodeOverride> change)
    {
        NodeOverride? result = null;
        _file.Change(nodeId, current =>
        {
            var next = change(current ?? new NodeOverride(nodeId)) with { NodeId = nodeId };
            result = next.IsEmpty ? null : next;
            return result;
        });
        return result;
    }
}
