namespace Drover.Decisions.Placement;

/// <summary>An instance as follow-up sees it: where it is assigned, whether its node confirmed it, and how long ago things happened.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Function">Its function.</param>
/// <param name="AssignedNodeId">The node it is assigned to.</param>
/// <param name="Confirmed">Whether the assigned node has reported it since the assignment.</param>
/// <param name="ReportedVersion">The function version the node last reported it running (empty when unknown).</param>
/// <param name="SinceAssigned">Time since the assignment.</param>
/// <param name="SinceLastResend">Time since its start was last sent again, or null when never.</param>
public sealed record FollowUpInstance(
    string InstanceId,
    string Function,
    string AssignedNodeId,
    bool Confirmed,
    string ReportedVersion,
    TimeSpan SinceAssigned,
    TimeSpan? SinceLastResend);

/// <summary>A copy of an instance still running on a node it is no longer assigned to.</summary>
public sealed record FollowUpStaleCopy(string InstanceId, string NodeId, string Function, TimeSpan? SinceLastStop);

/// <summary>
/// An instance stopped for good whose node has not acknowledged the stop yet (it was unreachable, the
/// aggregator restarted, or it reported the instance running after all).
/// </summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="NodeId">The node the stop goes to.</param>
/// <param name="Function">Its function, or its service set's key.</param>
/// <param name="DeleteState">Whether the stop deletes the instance's state on the node.</param>
/// <param name="SinceLastStop">Time since the stop was last sent, or null when not since the aggregator started.</param>
public sealed record FollowUpPendingStop(string InstanceId, string NodeId, string Function, bool DeleteState, TimeSpan? SinceLastStop);

/// <summary>What follow-up decides on.</summary>
/// <param name="Instances">Every assigned instance.</param>
/// <param name="StaleCopies">Copies on nodes the instances moved away from.</param>
/// <param name="PendingStops">Stops the nodes have not acknowledged.</param>
/// <param name="FunctionVersions">The defined functions and their versions.</param>
/// <param name="ConnectedNodes">Nodes that can receive a command now.</param>
/// <param name="ConfirmTimeout">How long a start may wait for its node's report before it is sent again (and how often a repeat goes).</param>
public sealed record FollowUpSnapshot(
    IReadOnlyList<FollowUpInstance> Instances,
    IReadOnlyList<FollowUpStaleCopy> StaleCopies,
    IReadOnlyList<FollowUpPendingStop> PendingStops,
    IReadOnlyDictionary<string, string> FunctionVersions,
    IReadOnlySet<string> ConnectedNodes,
    TimeSpan ConfirmTimeout);

/// <summary>What follow-up decided.</summary>
public enum FollowUpKind
{
    /// <summary>Send the instance's start again: unconfirmed, or running an old function version.</summary>
    Resend,

    /// <summary>Stop a stale copy on a node the instance moved away from, keeping its state.</summary>
    StopStaleCopy,

    /// <summary>Stop an instance of a deleted function for good and delete its state: a pending stop until its node acknowledges it.</summary>
    StopDeleted,

    /// <summary>Send a pending stop again (with its delete_state), its node being connected.</summary>
    ResendStop,
}

/// <summary>One follow-up decision and its reason.</summary>
public sealed record FollowUpAction(FollowUpKind Kind, string InstanceId, string Function, string NodeId, string Reason);

/// <summary>
/// What keeps placement's commands true after they are sent: starts the node never confirmed are sent
/// again, new function versions reach running instances, stale copies on nodes that came back are
/// stopped, a deleted function's instances are stopped for good, and stops a node has not
/// acknowledged are sent again once it is connected. Pure: times are inputs.
/// </summary>
public static class InstanceFollowUp
{
    public static IReadOnlyList<FollowUpAction> Decide(FollowUpSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var actions = new List<FollowUpAction>();
        bool Due(TimeSpan? since) => since is null || since >= snapshot.ConfirmTimeout;

        foreach (var copy in snapshot.StaleCopies)
        {
            if (snapshot.ConnectedNodes.Contains(copy.NodeId) && Due(copy.SinceLastStop))
            {
                actions.Add(new FollowUpAction(FollowUpKind.StopStaleCopy, copy.InstanceId, copy.Function, copy.NodeId,
                    "the instance resumed on another node while this one was lost; this copy's state is older"));
            }
        }

        foreach (var stop in snapshot.PendingStops)
        {
            if (snapshot.ConnectedNodes.Contains(stop.NodeId) && Due(stop.SinceLastStop))
            {
                actions.Add(new FollowUpAction(FollowUpKind.ResendStop, stop.InstanceId, stop.Function, stop.NodeId,
                    stop.DeleteState
                        ? "the instance was stopped for good (its state deleted) and its node has not acknowledged that"
                        : "the instance was stopped for good and its node has not acknowledged that"));
            }
        }

        foreach (var instance in snapshot.Instances)
        {
            if (!snapshot.FunctionVersions.TryGetValue(instance.Function, out var version))
            {
                actions.Add(new FollowUpAction(FollowUpKind.StopDeleted, instance.InstanceId, instance.Function, instance.AssignedNodeId,
                    Gone(instance.Function)));
                continue;
            }

            if (!snapshot.ConnectedNodes.Contains(instance.AssignedNodeId) || !Due(instance.SinceLastResend))
            {
                continue;
            }

            if (!instance.Confirmed && instance.SinceAssigned >= snapshot.ConfirmTimeout)
            {
                actions.Add(new FollowUpAction(FollowUpKind.Resend, instance.InstanceId, instance.Function, instance.AssignedNodeId,
                    $"node '{instance.AssignedNodeId}' has not confirmed the instance for {instance.SinceAssigned.TotalSeconds:0} s"));
            }
            else if (instance.Confirmed && instance.ReportedVersion.Length > 0 && instance.ReportedVersion != version)
            {
                actions.Add(new FollowUpAction(FollowUpKind.Resend, instance.InstanceId, instance.Function, instance.AssignedNodeId,
                    $"the instance runs version '{instance.ReportedVersion}' and the function is now at '{version}'"));
            }
        }

        return actions;
    }

    /// <summary>Why an instance of a workload no longer defined stops: a deleted function, or a service's set that was retired or deleted.</summary>
    private static string Gone(string workload)
        => workload.StartsWith("service/", StringComparison.Ordinal)
            ? $"'{workload}' is no longer a set of its service (replaced by a newer version, or the service was deleted)"
            : $"function '{workload}' was deleted";
}
