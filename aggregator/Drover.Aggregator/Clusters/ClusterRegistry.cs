using System.Text.Json;
using Drover.Aggregator.Api;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Health;
using Drover.Protocol;

namespace Drover.Aggregator.Clusters;

/// <summary>
/// Every cluster's and cluster group's settings: the aggregator's configuration, with what the HTTP
/// API changed at run time on top (persisted, so a restart keeps it). A cluster only agents name has
/// the defaults.
/// </summary>
internal sealed class ClusterRegistry
{
    /// <summary>In a <c>PUT</c>, <c>minSurvivors: 0</c> says "no fixed number: use the ratio".</summary>
    public const int UseRatio = 0;

    private readonly AggregatorOptions _options;
    private readonly DefinitionFile<ClusterOverride> _clusters;
    private readonly DefinitionFile<ClusterGroupOverride> _groups;

    public ClusterRegistry(AggregatorOptions options)
        : this(options, new FileDefinitionStore(options.DataDirectory))
    {
    }

    /// <summary>The configuration, with the run-time changes kept in <paramref name="store"/> (<c>clusters</c>, <c>cluster-groups</c>).</summary>
    public ClusterRegistry(AggregatorOptions options, IDefinitionStore store)
    {
        _options = options;
        _clusters = new DefinitionFile<ClusterOverride>(store, "clusters", "cluster", c => c.Name);
        _groups = new DefinitionFile<ClusterGroupOverride>(store, "cluster-groups", "cluster group", g => g.Name);
    }

    /// <summary>Raised after a run-time change, so the health loop decides on it at once.</summary>
    public event Action? Changed;

    /// <summary>
    /// The settings of every cluster that is configured, changed at run time or named by a node in
    /// <paramref name="seen"/>, ordered by name.
    /// </summary>
    public IReadOnlyList<HealthCluster> Settings(IEnumerable<string> seen)
    {
        var names = new SortedSet<string>(_options.Clusters.Keys, StringComparer.Ordinal);
        names.UnionWith(_clusters.All.Select(c => c.Name));
        names.UnionWith(seen);
        return names.Select(Settings).ToArray();
    }

    /// <summary>One cluster's settings: override, then configuration, then defaults.</summary>
    public HealthCluster Settings(string name)
    {
        var configured = _options.Clusters.GetValueOrDefault(name) ?? new ClusterOptions();
        var changed = _clusters.Find(name);
        var minSurvivors = changed?.MinSurvivors is { } fixedCount ? (fixedCount == UseRatio ? null : fixedCount) : configured.MinSurvivors;
        return new HealthCluster(
            name,
            changed?.Group ?? configured.Group,
            ClusterDefaults.ParseRole(changed?.Role ?? configured.Role) ?? ClusterRole.Master,
            changed?.Weight ?? configured.Weight,
            changed?.Priority ?? configured.Priority,
            minSurvivors,
            changed?.MinimumSurvivalRatio ?? configured.MinimumSurvivalRatio ?? _options.MinimumSurvivalRatio);
    }

    /// <summary>Every group's backup mode: override, then configuration; a group named by neither is all-masters.</summary>
    public IReadOnlyDictionary<string, BackupMode> Modes()
    {
        var modes = new Dictionary<string, BackupMode>(StringComparer.Ordinal);
        foreach (var (name, group) in _options.ClusterGroups)
        {
            modes[name] = ClusterDefaults.ParseMode(group.Mode) ?? BackupMode.AllMasters;
        }

        foreach (var group in _groups.All)
        {
            modes[group.Name] = ClusterDefaults.ParseMode(group.Mode) ?? BackupMode.AllMasters;
        }

        return modes;
    }

    /// <summary>
    /// Applies a <c>PUT /v1/clusters/{name}</c> body: each field given is set, each field given as
    /// null goes back to the configuration; fields left out stay as they are. Returns the field and
    /// reason of the first bad value, or null when applied (and saved).
    /// </summary>
    public (string Field, string Error)? Put(string name, JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return ("", "expected a JSON object such as {\"weight\": 200, \"priority\": 1}");
        }

        var current = _clusters.Find(name) ?? new ClusterOverride(name);
        var next = current;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            var isNull = value.ValueKind == JsonValueKind.Null;
            switch (property.Name)
            {
                case "weight":
                    var (weight, weightError) = WholeNumberField.Read(property, ClusterDefaults.CheckWeight);
                    if (weightError is not null)
                    {
                        return ("weight", weightError);
                    }

                    next = next with { Weight = weight };
                    break;
                case "priority":
                    var (priority, priorityError) = WholeNumberField.Read(property, ClusterDefaults.CheckPriority);
                    if (priorityError is not null)
                    {
                        return ("priority", priorityError);
                    }

                    next = next with { Priority = priority };
                    break;
                case "minSurvivors":
                    var (minSurvivors, minError) = WholeNumberField.Read(property, static (key, value) =>
                        value == UseRatio ? null : ClusterDefaults.CheckMinSurvivors(key, value) is { } error ? error + " (0 in a PUT: use the ratio)" : null);
                    if (minError is not null)
                    {
                        return ("minSurvivors", minError);
                    }

                    next = next with { MinSurvivors = minSurvivors };
                    break;
                case "minimumSurvivalRatio":
                    if (!isNull && value.ValueKind != JsonValueKind.Number)
                    {
                        return ("minimumSurvivalRatio", $"minimumSurvivalRatio = {value.GetRawText()}: expected a number above 0 and at most 1");
                    }

                    double? ratio = isNull ? null : value.GetDouble();
                    if (ClusterDefaults.CheckRatio("minimumSurvivalRatio", ratio) is { } badRatio)
                    {
                        return ("minimumSurvivalRatio", badRatio);
                    }

                    next = next with { MinimumSurvivalRatio = ratio };
                    break;
                case "role":
                    var role = isNull ? null : value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
                    if (!isNull && ClusterDefaults.ParseRole(role) is null)
                    {
                        return ("role", $"role = '{role}': expected {ClusterDefaults.RolesAccepted}");
                    }

                    next = next with { Role = role };
                    break;
                case "group":
                    var group = isNull ? null : value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
                    if (!isNull && !Names.IsName(group))
                    {
                        return ("group", $"group = '{group}': expected a group name of 1-63 characters of a-z 0-9 -, not starting with -");
                    }

                    next = next with { Group = group };
                    break;
                default:
                    return (property.Name, $"'{property.Name}' is not a cluster setting; expected weight, priority, role, group, minSurvivors, minimumSurvivalRatio");
            }
        }

        var empty = next == new ClusterOverride(name);
        _clusters.Change(name, _ => empty ? null : next);
        Changed?.Invoke();
        return null;
    }

    /// <summary>Sets a group's backup mode; the reason when the mode is not one of the three.</summary>
    public string? PutMode(string group, string? mode)
    {
        if (ClusterDefaults.ParseMode(mode) is null)
        {
            return $"mode = '{mode}': expected {ClusterDefaults.ModesAccepted}";
        }

        _groups.Change(group, _ => new ClusterGroupOverride(group, mode!));
        Changed?.Invoke();
        return null;
    }
}
