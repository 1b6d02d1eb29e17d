using Drover.Aggregator.Fleet;

namespace Drover.Aggregator.Api;

/// <summary>One instance as <c>GET /v1/functions/{name}/instances</c> shows it.</summary>
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
    bool Ready)
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
        view.Ready);
}
