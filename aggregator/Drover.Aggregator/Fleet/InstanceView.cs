namespace Drover.Aggregator.Fleet;

/// <summary>
/// One instance as the aggregator knows it: where it is assigned, and what the node it runs on last
/// reported. Immutable: a copy from the instance table. <c>Loaded</c>: its assignment was loaded
/// from the store at start and neither assigned again nor reported from its node since.
/// </summary>
internal sealed record InstanceView(
    string InstanceId,
    string Function,
    string AssignedNodeId,
    string? ReportedNodeId,
    string State,
    string Version,
    int Pid,
    int Port,
    int Restarts,
    int LastExitCode,
    int LastSignal,
    string Reason,
    ulong CommittedStateVersion,
    long AssignedAt,
    long? ReportedAt,
    bool Ready = false,
    string? HomeCluster = null,
    string? ReportedGpuUuid = null,
    long Epoch = 0,
    bool Loaded = false,
    string? AssignedGpuUuid = null)
{
    /// <summary>The GPU it runs on: the one chosen for it, else the one its node reports (after a restart); null when neither is known.</summary>
    public string? GpuUuid => AssignedGpuUuid ?? ReportedGpuUuid;
}
