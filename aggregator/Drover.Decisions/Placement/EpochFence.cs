namespace Drover.Decisions.Placement;

/// <summary>
/// The fencing rule of commits: a copy of an instance started under an older assignment (a smaller
/// epoch) than the instance's current one may not commit its state, since the instance has moved
/// on without it and its next version would replace newer state. An epoch of 0 on either side is
/// unknown (an older agent, or an instance taken from an older agent's report): not fenced, as
/// before epochs existed.
/// </summary>
public static class EpochFence
{
    /// <summary>Why a commit carrying <paramref name="sent"/> is fenced off when the instance is at <paramref name="current"/>, or null when it is not.</summary>
    public static string? Check(string instanceId, long current, long sent)
        => sent <= 0 || current <= 0 || sent >= current
            ? null
            : $"this copy of instance '{instanceId}' was started under epoch {sent}, but the instance has since been assigned again (epoch {current}); its state is no longer this copy's to commit";
}
