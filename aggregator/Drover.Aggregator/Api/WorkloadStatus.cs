using System.Text.Json;
using System.Text.Json.Nodes;
using Drover.Aggregator.Fleet;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Api;

/// <summary>
/// The live part of <c>GET /v1/functions/{name}</c> and <c>GET /v1/services/{name}</c>: the request
/// queue length (queued plus in flight over the surviving nodes' shims), per-node counters and the
/// instances, added to the definition so a client can still read, change and write the document back
/// (<c>PUT</c> ignores these read-only fields).
/// </summary>
internal static class WorkloadStatus
{
    /// <summary>The fields a GET adds to a definition; a PUT drops them.</summary>
    public static readonly IReadOnlySet<string> ReadOnlyFields = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "requestQueueLength", "desiredInstances", "runningInstances", "queued", "inFlight", "nodes", "instances", "activeVersion", "sets", "rollout", "routes",
    };

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The nodes whose shims' counters make a workload's queue: connected, and alive or draining.</summary>
    public static IReadOnlySet<string> Surviving(NodeTable nodes)
        => nodes.Snapshot()
            .Where(n => n.Connected && n.Survival is NodeSurvival.Alive or NodeSurvival.Draining)
            .Select(n => n.NodeId)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>The definition as JSON with the workload's live status added.</summary>
    public static JsonObject Document<T>(T definition, WorkloadKind kind, string name, WorkloadStatsTable stats, NodeTable nodes, IEnumerable<InstanceView> instances)
    {
        var document = JsonSerializer.SerializeToNode(definition, Json)!.AsObject();
        var surviving = Surviving(nodes);
        var perNode = stats.For(kind, name).Where(s => surviving.Contains(s.Key)).OrderBy(s => s.Key, StringComparer.Ordinal).ToArray();
        var (queued, inFlight) = WorkloadStatsTable.Totals(perNode.Select(s => s.Value));
        document["requestQueueLength"] = queued + inFlight;
        document["queued"] = queued;
        document["inFlight"] = inFlight;
        document["nodes"] = JsonSerializer.SerializeToNode(perNode.Select(s => NodeCounters(s.Key, s.Value)), Json);
        document["instances"] = JsonSerializer.SerializeToNode(instances.Select(InstanceResponse.From), Json);
        return document;
    }

    private static object NodeCounters(string nodeId, WorkloadStats stats) => new
    {
        nodeId,
        queued = stats.Queued,
        inFlight = stats.InFlight,
        completed = stats.Completed,
        failed = stats.Failed,
        rejected = stats.Rejected,
        timedOut = stats.TimedOut,
        readyInstances = stats.ReadyInstances,
        latency = stats.Latency is { } latency
            ? new
            {
                boundsMs = latency.BoundsMs,
                counts = latency.Counts,
                sumMs = latency.SumMs,
                count = latency.Count,
            }
            : null,
    };
}
