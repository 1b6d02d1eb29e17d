using Drover.Aggregator.Fleet;

namespace Drover.Aggregator.Api;

/// <summary>
/// One instance as <c>GET /v1/functions/{name}/instances</c> shows it; <c>GpuUuid</c> is the GPU (or MIG instance) an
/// autoscaled instance was placed on, null for instances placed on every node (they are given no GPU).
/// </summary>
internal sealed record InstanceResponse(
    string InstanceId,
    string NodeId,
    string State,
    int Pid,
    int Port,
    int Restarts,
    ulong StateVersion,
    string Version,
    int LastExitCode,
    int LastSignal,
    string Reason,
    bool Ready,
    string? GpuUuid)
{
    public static InstanceResponse From(InstanceView view) => new(
        view.InstanceId,
        view.AssignedNodeId,
        view.State,
        view.Pid,
        view.Port,
        view.Restarts,
        view.CommittedStateVersion,
        view.Version,
        view.LastExitCode,
        view.LastSignal,
        view.Reason,
        view.Ready,
        view.GpuUuid);
}
