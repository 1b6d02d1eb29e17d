namespace Drover.Decisions.Placement;

/// <summary>The settings a workload's instances were last handed: its version, and a fingerprint of the rest of its spec.</summary>
public sealed record HandedSettings(string Version, string Fingerprint);

/// <summary>
/// Which workloads' running instances must be sent their spec again because a setting changed within
/// the same version (an SLO, a queue length). A new version is not this rule's: placement's follow-up
/// replaces those instances. Pure: the memory is what the last pass saw, handed in by the host.
/// </summary>
public static class SettingsFollowUp
{
    /// <summary>The workloads, in key order, whose version is what was last handed and whose settings are not.</summary>
    public static IReadOnlyList<string> ToResend(IReadOnlyDictionary<string, HandedSettings> handed, IReadOnlyDictionary<string, HandedSettings> now)
    {
        ArgumentNullException.ThrowIfNull(handed);
        ArgumentNullException.ThrowIfNull(now);
        return now
            .Where(w => handed.TryGetValue(w.Key, out var before) && before.Version == w.Value.Version && before.Fingerprint != w.Value.Fingerprint)
            .Select(w => w.Key)
            .Order(StringComparer.Ordinal)
            .ToArray();
    }
}
