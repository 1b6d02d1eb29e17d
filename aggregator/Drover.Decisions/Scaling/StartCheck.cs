namespace Drover.Decisions.Scaling;

/// <summary>One autoscaled instance whose start is checked: what its node reported of it, and since when it is assigned there.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="NodeId">The node it is assigned to (known and not lost: an instance on a lost or awaited node is not checked).</param>
/// <param name="Confirmed">Its node reported it since the assignment.</param>
/// <param name="ReportedFailed">Its node reports it <c>failed</c> (it gave up restarting it).</param>
/// <param name="FailureReason">The node's reason, when it failed.</param>
/// <param name="SinceAssigned">Time since the assignment (since the store was loaded, for a loaded one).</param>
/// <param name="MayHoldState">It may have committed state: a version is known, it moved before (epoch above 1), or it was loaded from the store.</param>
/// <param name="Loaded">Loaded from the store after a restart and not confirmed since: its start may never have left the aggregator that was killed, and is sent again first.</param>
public sealed record StartCheckInstance(
    string InstanceId,
    string NodeId,
    bool Confirmed,
    bool ReportedFailed,
    string FailureReason,
    TimeSpan SinceAssigned,
    bool MayHoldState,
    bool Loaded);

/// <summary>What becomes of an instance whose start failed.</summary>
public enum StartFailureAction
{
    /// <summary>A new instance with nothing committed: stopped and forgotten; the autoscaler starts another.</summary>
    Remove,

    /// <summary>An instance that may hold state: left where it is, uncounted, for the next start to resume it elsewhere from its last commit.</summary>
    Resume,
}

/// <summary>A failed start: the instance, its node (penalised), what becomes of it and why.</summary>
public sealed record StartFailure(string InstanceId, string NodeId, StartFailureAction Action, string Reason);

/// <summary>
/// Which starts of autoscaled instances failed: those their node reports <c>failed</c>, and those it
/// did not confirm within the confirm timeout (twice that for an assignment loaded from the store,
/// whose start the follow-up sends again at one timeout). A failed start never deletes state that
/// may exist: an instance that may hold state resumes elsewhere; only a new, empty one is removed.
/// </summary>
public static class StartCheck
{
    /// <summary>The failed starts among <paramref name="instances"/>, in their order.</summary>
    public static IReadOnlyList<StartFailure> Failed(IEnumerable<StartCheckInstance> instances, TimeSpan confirmTimeout)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var failed = new List<StartFailure>();
        foreach (var instance in instances)
        {
            var action = instance.MayHoldState ? StartFailureAction.Resume : StartFailureAction.Remove;
            var then = action == StartFailureAction.Resume
                ? "it resumes elsewhere from its last committed state"
                : "it is placed again elsewhere";
            var timeout = instance.Loaded ? confirmTimeout * 2 : confirmTimeout;
            if (instance.ReportedFailed)
            {
                failed.Add(new StartFailure(instance.InstanceId, instance.NodeId, action,
                    $"instance '{instance.InstanceId}' failed on node '{instance.NodeId}' ({instance.FailureReason}); {then}"));
            }
            else if (!instance.Confirmed && instance.SinceAssigned >= timeout)
            {
                failed.Add(new StartFailure(instance.InstanceId, instance.NodeId, action,
                    $"node '{instance.NodeId}' did not confirm the start of instance '{instance.InstanceId}' within {timeout.TotalSeconds:0} s; {then}"));
            }
        }

        return failed;
    }
}
