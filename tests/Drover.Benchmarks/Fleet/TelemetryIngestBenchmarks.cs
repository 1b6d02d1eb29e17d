using BenchmarkDotNet.Attributes;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Link;
using Drover.Protocol.V1;
using Google.Protobuf;

namespace Drover.Benchmarks.Fleet;

/// <summary>
/// What the aggregator does with one agent's telemetry message of 8 GPUs on receipt, in a node table of 10 000
/// nodes (the agent link's read loop, <c>AgentLinkService.ReadMessagesAsync</c>): <see cref="Parse"/> is gRPC's
/// protobuf parse of the <see cref="AgentMessage"/> from its bytes; <see cref="Validate"/> is
/// <see cref="TelemetryValidator.Telemetry"/> (checks and conversion into the fleet state's <see cref="GpuReport"/>);
/// <see cref="Ingest"/> adds <see cref="NodeTable.RecordTelemetry"/>; <see cref="ParseAndIngest"/> is all of it.
/// </summary>
/// <remarks>Not measured: HTTP/2 framing and TLS, and the read loop's await of the next message.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class TelemetryIngestBenchmarks
{
    private const int Nodes = 10_000;
    private const int Node = 4_321;

    private NodeTable _nodes = null!;
    private Guid _connection;
    private string _nodeId = "";
    private AgentMessage _message = null!;
    private byte[] _wire = [];

    [GlobalSetup]
    public void Setup()
    {
        _nodes = new NodeTable(TimeProvider.System);
        _connection = FleetNodes.Fill(_nodes, Nodes, _ => false)[Node];
        _nodeId = FleetNodes.NodeId(Node);
        _message = new AgentMessage { Telemetry = FleetNodes.Telemetry(Node) };
        _wire = _message.ToByteArray();
        Console.WriteLine($"// one telemetry message of {_message.Telemetry.Gpus.Count} GPUs: {_wire.Length} bytes on the wire; {Nodes} nodes in the table");
    }

    [Benchmark]
    public int Parse() => AgentMessage.Parser.ParseFrom(_wire).Telemetry.Gpus.Count;

    [Benchmark(Baseline = true)]
    public int Validate() => TelemetryValidator.Telemetry(_message.Telemetry, _nodes.Now).Report?.Gpus.Count ?? -1;

    [Benchmark]
    public bool Ingest() => Record(_message);

    [Benchmark]
    public bool ParseAndIngest() => Record(AgentMessage.Parser.ParseFrom(_wire));

    private bool Record(AgentMessage message)
    {
        var (report, _) = TelemetryValidator.Telemetry(message.Telemetry, _nodes.Now);
        return report is not null && _nodes.RecordTelemetry(_nodeId, _connection, report);
    }
}
