namespace Drover.Decisions.Services;

/// <summary>One set of a service: the instances of one version.</summary>
/// <param name="Version">The version the set runs.</param>
/// <param name="Wanted">How many instances the set wants.</param>
/// <param name="Ready">How many of its instances the nodes' shims report ready.</param>
public sealed record RolloutSet(string Version, int Wanted, int Ready);

/// <summary>What a service's rollout decides on.</summary>
/// <param name="DesiredVersion">The version the service's definition names now.</param>
/// <param name="ActiveVersion">The set traffic goes to, or null before the first set was ever active.</param>
/// <param name="Sets">The sets that exist.</param>
/// <param name="RoutesAcknowledged">Whether every connected node has applied the routing table that was published last.</param>
public sealed record RolloutSnapshot(string DesiredVersion, string? ActiveVersion, IReadOnlyList<RolloutSet> Sets, bool RoutesAcknowledged);

/// <summary>What to do next.</summary>
public enum RolloutStep
{
    /// <summary>Nothing: the desired set is active and alone, or waiting for its instances or the nodes.</summary>
    Hold,

    /// <summary>Create the desired version's set (its instances are placed by the instance placement).</summary>
    CreateSet,

    /// <summary>Send traffic to the desired set: it becomes active; the others are retired.</summary>
    Shift,

    /// <summary>Every node routes to the active set only: stop the retired sets, letting their requests finish.</summary>
    RemoveRetired,
}

/// <summary>One rollout decision and its reason.</summary>
public sealed record RolloutDecision(RolloutStep Step, string? Version, IReadOnlyList<string> Retired, string Reason);

/// <summary>
/// Blue/green replacement of a service, one step per pass: a new version gets a set of its own; once
/// all its instances are ready, traffic shifts to it; once every node has applied the table that
/// routes only to it, the old sets are removed (their in-flight requests drain first). A first
/// deployment shifts at its first ready instance, since there is nothing to keep serving meanwhile.
/// Pure: a function of the snapshot.
/// </summary>
public static class ServiceRollout
{
    public static RolloutDecision Decide(RolloutSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var desired = snapshot.Sets.FirstOrDefault(s => s.Version == snapshot.DesiredVersion);
        if (desired is null)
        {
            return new RolloutDecision(RolloutStep.CreateSet, snapshot.DesiredVersion, [],
                $"version '{snapshot.DesiredVersion}' is defined and has no set yet");
        }

        if (snapshot.ActiveVersion != desired.Version)
        {
            var others = snapshot.Sets.Where(s => s.Version != desired.Version).Select(s => s.Version).ToArray();
            if (snapshot.ActiveVersion is null && desired.Ready > 0)
            {
                return new RolloutDecision(RolloutStep.Shift, desired.Version, others,
                    $"first deployment: version '{desired.Version}' has {desired.Ready} of {desired.Wanted} instances ready");
            }

            if (desired.Wanted > 0 && desired.Ready >= desired.Wanted)
            {
                return new RolloutDecision(RolloutStep.Shift, desired.Version, others,
                    $"all {desired.Wanted} instances of version '{desired.Version}' are ready; traffic moves from '{snapshot.ActiveVersion ?? "none"}'");
            }

            return new RolloutDecision(RolloutStep.Hold, desired.Version, [],
                $"waiting for version '{desired.Version}': {desired.Ready} of {desired.Wanted} instances ready; '{snapshot.ActiveVersion ?? "none"}' keeps serving");
        }

        var retired = snapshot.Sets.Where(s => s.Version != desired.Version).Select(s => s.Version).ToArray();
        if (retired.Length == 0)
        {
            return new RolloutDecision(RolloutStep.Hold, desired.Version, [], $"version '{desired.Version}' serves alone");
        }

        return snapshot.RoutesAcknowledged
            ? new RolloutDecision(RolloutStep.RemoveRetired, desired.Version, retired,
                $"every node routes to version '{desired.Version}' only; the sets of {string.Join(", ", retired.Select(v => $"'{v}'"))} finish their requests and stop")
            : new RolloutDecision(RolloutStep.Hold, desired.Version, retired,
                $"waiting for every node to apply the routes to version '{desired.Version}' before the old sets stop");
    }
}
