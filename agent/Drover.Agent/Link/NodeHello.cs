using Drover.Agent.Configuration;
using Drover.Protocol.V1;

namespace Drover.Agent.Link;

/// <summary>Builds the Hello this node opens every stream with.</summary>
internal sealed class NodeHello
{
    private readonly Hello _hello;

    public NodeHello(string nodeId, AgentOptions options)
    {
        NodeId = nodeId;
        _hello = new Hello
        {
            NodeId = nodeId,
            ServerNumber = (uint)options.ServerNumber,
            Port = (uint)options.Port,
            Cluster = options.Cluster,
            AgentVersion = AgentVersion,
            Hostname = Environment.MachineName,
            AdvertiseAddress = options.AdvertiseAddress,
            Weight = (uint)options.Weight,
            Priority = options.Priority,
            AnswersProbes = true,
        };
        _hello.Labels.Add(options.Labels);
    }

    public string NodeId { get; }

    /// <summary>The agent's informational version, without the source revision suffix.</summary>
    public static string AgentVersion { get; } = ProgramVersion.Of(typeof(NodeHello).Assembly);

    /// <summary>
    /// The Hello for a new stream, with the GPU telemetry status and inventory as they are now, and the
    /// newest leadership the agent has accepted: an aggregator that leads that store at a lower term learns
    /// from it that it was deposed, and steps down.
    /// </summary>
    public Hello Create(GpuTelemetryStatus gpuTelemetry, IEnumerable<GpuInfo> gpus, LeaderTerm? knownLeader = null)
    {
        var hello = _hello.Clone();
        hello.GpuTelemetry = gpuTelemetry;
        hello.Gpus.Add(gpus);
        if (knownLeader is not null)
        {
            hello.KnownLeader = knownLeader.Clone();
        }

        return hello;
    }
}
