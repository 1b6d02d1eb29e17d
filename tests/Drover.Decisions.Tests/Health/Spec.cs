using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

/// <summary>A cluster in a test table: its settings, how many nodes it has and how many of them survive.</summary>
public sealed record Spec(
    string Name,
    int Total,
    int Alive,
    int Weight = 100,
    ClusterRole Role = ClusterRole.Master,
    string Group = "g",
    int Priority = 0,
    int? Min = null,
    double Ratio = 0.5)
{
    /// <summary>A standby of the same shape.</summary>
    public static Spec Standby(string name, int total, int alive, int weight = 100, int priority = 0, string group = "g")
        => new(name, total, alive, weight, ClusterRole.Standby, group, priority);
}
