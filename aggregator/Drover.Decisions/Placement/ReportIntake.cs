namespace Drover.Decisions.Placement;

/// <summary>What the aggregator knows of an instance when one node's report of it arrives.</summary>
/// <param name="Known">The instance table holds it (assigned here, loaded from the store, or adopted before).</param>
/// <param name="Stopping">It was stopped for good (a pending stop, or one acknowledged a short while ago); its reports are not a new instance.</param>
/// <param name="AssignedNodeId">The node it is assigned to, when known.</param>
/// <param name="CurrentEpoch">Its assignment's fencing epoch (0: unknown).</param>
/// <param name="InstancesOnNode">How many instances the table already holds on the reporting node.</param>
/// <param name="NodeId">The reporting node.</param>
/// <param name="ReportsStopped">The node reports it stopped.</param>
/// <param name="ReportedEpoch">The epoch the node's copy was started with (0: an agent that does not know epochs).</param>
public sealed record ReportFacts(
    bool Known,
    bool Stopping,
    string? AssignedNodeId,
    long CurrentEpoch,
    int InstancesOnNode,
    string NodeId,
    bool ReportsStopped,
    long ReportedEpoch);

/// <summary>What becomes of a report.</summary>
public enum ReportVerdict
{
    /// <summary>Nothing is recorded.</summary>
    Ignore,

    /// <summary>A stopped and forgotten instance reports it stopped: it is no longer remembered as stopping.</summary>
    StoppingEnded,

    /// <summary>
    /// A stopped and forgotten instance reports it still runs (its node missed the stop, or lost it
    /// in a restart): the stop is pending again and is sent again, not the instance adopted.
    /// </summary>
    StopAgain,

    /// <summary>An instance the aggregator did not place (it restarted, and the node still runs it): taken as the node reports it, with its epoch; then recorded.</summary>
    Adopt,

    /// <summary>A copy on a node the instance is no longer assigned to: kept for the follow-up to stop (without deleting state).</summary>
    StaleCopy,

    /// <summary>A stale copy reports it stopped: no longer one.</summary>
    StaleCopyEnded,

    /// <summary>A copy from before the instance was assigned to this node again: it confirms nothing, so the start is sent again until it does.</summary>
    OlderEpoch,

    /// <summary>The copy where the instance is assigned, under its current epoch: the report is its state.</summary>
    Record,
}

/// <summary>
/// The intake rule of instance reports, the one place adoption and fencing of reports are decided:
/// a restarted aggregator knows its instances from the store, so a stale copy reporting first stays
/// a stale copy; an instance stopped for good is stopped again, never adopted; a node does not fill
/// the table at will; a copy started under an older epoch confirms nothing.
/// </summary>
public static class ReportIntake
{
    public static ReportVerdict Classify(ReportFacts facts, int maxInstancesPerNode)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (!facts.Known)
        {
            if (facts.Stopping)
            {
                return facts.ReportsStopped ? ReportVerdict.StoppingEnded : ReportVerdict.StopAgain;
            }

            return facts.ReportsStopped || facts.InstancesOnNode >= maxInstancesPerNode ? ReportVerdict.Ignore : ReportVerdict.Adopt;
        }

        if (!string.Equals(facts.AssignedNodeId, facts.NodeId, StringComparison.Ordinal))
        {
            return facts.ReportsStopped ? ReportVerdict.StaleCopyEnded : ReportVerdict.StaleCopy;
        }

        return facts.ReportedEpoch > 0 && facts.CurrentEpoch > 0 && facts.ReportedEpoch < facts.CurrentEpoch
            ? ReportVerdict.OlderEpoch
            : ReportVerdict.Record;
    }
}
