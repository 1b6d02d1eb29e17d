using Drover.Aggregator.Fleet;
using Drover.Aggregator.Link;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Benchmarks.Fleet;

/// <summary>
/// The aggregator's node table filled as agents fill it: each node registered (its Hello), then one telemetry
/// message of 8 GPUs validated and recorded, through the production <see cref="NodeTable"/> and
/// <see cref="TelemetryValidator"/>. Node <c>n</c> is <c>node-nnnnn</c> in <c>cluster-(n % 10)</c> with server
/// number <c>n / 10</c>, as in the scaling benchmark's fleet.
/// </summary>
internal static class FleetNodes
{
    public const int GpusPerNode = 8;
    public const int Clusters = 10;
    private const ulong GiB = 1UL << 30;

    public static string NodeId(int node) => $"node-{node:00000}";

    /// <summary>
    /// Registers <paramref name="count"/> nodes on new streams and records one telemetry message from each; the
    /// nodes whose number <paramref name="disconnected"/> picks have their stream ended (they do not survive).
    /// </summary>
    /// <returns>Each node's stream, by node number.</returns>
    public static Guid[] Fill(NodeTable nodes, int count, Func<int, bool> disconnected)
    {
        var connections = new Guid[count];
        for (var n = 0; n < count; n++)
        {
            connections[n] = Guid.NewGuid();
            var result = nodes.Register(Identity(n), connections[n]);
            if (!result.Accepted)
            {
                throw new InvalidOperationException($"Node {n} was refused: {result.Reason}.");
            }

            var (report, error) = TelemetryValidator.Telemetry(Telemetry(n), nodes.Now);
            if (report is null || !nodes.RecordTelemetry(NodeId(n), connections[n], report))
            {
                throw new InvalidOperationException($"Telemetry of node {n} was refused: {error}.");
            }

            if (disconnected(n))
            {
                nodes.Disconnected(NodeId(n), connections[n]);
            }
        }

        return connections;
    }

    /// <summary>Node <paramref name="node"/> as its Hello describes it.</summary>
    public static NodeIdentity Identity(int node) => new(
        NodeId(node),
        ServerNumber: node / Clusters,
        Port: 8080,
        Cluster: $"cluster-{node % Clusters}",
        Labels: new Dictionary<string, string>(StringComparer.Ordinal) { ["zone"] = $"zone-{node % 3}" },
        AgentVersion: "1.0.0",
        Hostname: $"gpu-{node:00000}.example",
        GpuTelemetry: new GpuTelemetryState(true, "", "550.54.15"),
        GpuCount: GpusPerNode,
        Address: $"10.{node / 65536 % 256}.{node / 256 % 256}.{node % 256}",
        AnswersProbes: true);

    /// <summary>
    /// One telemetry message of node <paramref name="node"/> as the agent sends it from 8 busy H100s: every counter
    /// set, two compute processes per GPU, a reported command queue, no MIG, health ok.
    /// </summary>
    public static Protocol.V1.Telemetry Telemetry(int node)
    {
        var telemetry = new Protocol.V1.Telemetry
        {
            SampledAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero)),
            Status = new GpuTelemetryStatus { Available = true, DriverVersion = "550.54.15" },
        };
        for (var g = 0; g < GpusPerNode; g++)
        {
            var used = (ulong)(g + 1) * 4 * GiB;
            var sample = new GpuSample
            {
                Gpu = new GpuInfo
                {
                    Index = (uint)g,
                    Uuid = $"GPU-be0c{node:x4}-0000-4000-8000-{g:x12}",
                    Name = "NVIDIA H100 80GB HBM3",
                    PciBusId = $"00000000:{0x17 + g:X2}:00.0",
                },
                Health = GpuHealth.Ok,
                MemoryTotalBytes = 80 * GiB,
                MemoryUsedBytes = used,
                MemoryFreeBytes = (80 * GiB) - used,
                MemoryReservedBytes = 512UL << 20,
                UtilizationGpuPercent = (uint)(g * 13 % 100),
                UtilizationMemoryPercent = (uint)(g * 7 % 100),
                TemperatureC = (uint)(40 + g),
                MemoryTemperatureC = (uint)(45 + g),
                PowerMilliwatts = (uint)(250_000 + (g * 1000)),
                CommandQueueLength = g * 3,
                CommandQueueSource = CommandQueueSource.Reported,
                CommandQueueAgeMs = 120,
                ProcessesSampledAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 4, 11, 59, 55, TimeSpan.Zero)),
                SmClockMhz = 1980,
                MemoryClockMhz = 2619,
                ClockEventReasons = 1,
                EnergyMillijoules = 123_456_789UL + (ulong)g,
                PcieTxKilobytesPerSecond = 1200,
                PcieRxKilobytesPerSecond = 3400,
                EncoderUtilizationPercent = 0,
                DecoderUtilizationPercent = 0,
                EccCorrectedErrors = 2,
                GraphicsActivityPercent = g * 13 % 100,
                SmActivityPercent = g * 11 % 100,
                SmOccupancyPercent = g * 5 % 100,
            };
            sample.Processes.Add(new GpuProcess { Pid = (uint)(10_000 + (g * 100)), UsedMemoryBytes = 2 * GiB });
            sample.Processes.Add(new GpuProcess { Pid = (uint)(10_001 + (g * 100)), UsedMemoryBytes = 4 * GiB });
            telemetry.Gpus.Add(sample);
        }

        return telemetry;
    }
}
