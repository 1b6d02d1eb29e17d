namespace Drover.Decisions.Health;

/// <summary>
/// Health grouping, backup-mode targets and failback with hysteresis: a function of the snapshot.
/// </summary>
public static class ClusterHealth
{
    public static HealthDecision Decide(HealthSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        throw new NotImplementedException();
    }
}
