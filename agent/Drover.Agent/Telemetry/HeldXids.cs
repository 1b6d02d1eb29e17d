namespace Drover.Agent.Telemetry;

/// <summary>The last XID of each kind a GPU reported within the hold time (null: none held).</summary>
internal readonly record struct HeldXids(uint? Hardware, uint? Application, uint? Unclassified)
{
    public static readonly HeldXids None = default;
}
