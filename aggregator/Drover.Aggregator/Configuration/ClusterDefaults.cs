using System.Globalization;
using Drover.Decisions.Health;

namespace Drover.Aggregator.Configuration;

/// <summary>The defaults and the accepted values of cluster settings, shared by the configuration and the HTTP API.</summary>
internal static class ClusterDefaults
{
    public const int Weight = 100;
    public const int MaxWeight = 1000;
    public const int Priority = 0;
    public const int MinPriority = -1000;
    public const int MaxPriority = 1000;
    public const string Role = "master";
    public const string Group = "default";
    public const string Mode = "all-masters";
    public const int MaxMinSurvivors = 100_000;

    public const string RolesAccepted = "master or standby";
    public const string ModesAccepted = "all-masters, masters-standbys or masters-one-standby";

    public static ClusterRole? ParseRole(string? value) => value switch
    {
        "master" => ClusterRole.Master,
        "standby" => ClusterRole.Standby,
        _ => null,
    };

    public static string RoleName(ClusterRole role) => role == ClusterRole.Standby ? "standby" : "master";

    public static BackupMode? ParseMode(string? value) => value switch
    {
        "all-masters" => BackupMode.AllMasters,
        "masters-standbys" => BackupMode.MastersStandbys,
        "masters-one-standby" => BackupMode.MastersOneStandby,
        _ => null,
    };

    public static string ModeName(BackupMode mode) => mode switch
    {
        BackupMode.MastersStandbys => "masters-standbys",
        BackupMode.MastersOneStandby => "masters-one-standby",
        _ => "all-masters",
    };

    public static string HealthName(ClusterHealthState health) => health switch
    {
        ClusterHealthState.Healthy => "healthy",
        ClusterHealthState.Recovering => "recovering",
        _ => "unhealthy",
    };

    /// <summary>
    /// Why one cluster setting is refused (naming the key, the value and what is accepted), or null.
    /// <paramref name="key"/> is the setting's full name for the message.
    /// </summary>
    public static string? CheckWeight(string key, int value)
        => value is < 0 or > MaxWeight ? $"{key} = '{Text(value)}': expected a whole number from 0 to {MaxWeight}" : null;

    public static string? CheckPriority(string key, int value)
        => value is < MinPriority or > MaxPriority ? $"{key} = '{Text(value)}': expected a whole number from {MinPriority} to {MaxPriority}" : null;

    public static string? CheckMinSurvivors(string key, int? value)
        => value is < 1 or > MaxMinSurvivors ? $"{key} = '{Text(value!.Value)}': expected a whole number from 1 to {MaxMinSurvivors}, or no value for the ratio" : null;

    public static string? CheckRatio(string key, double? value)
        => value is { } ratio && (double.IsNaN(ratio) || ratio <= 0 || ratio > 1)
            ? $"{key} = '{ratio.ToString(CultureInfo.InvariantCulture)}': expected a number above 0 and at most 1"
            : null;

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
