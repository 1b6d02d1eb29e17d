namespace Drover.Agent.Telemetry;

/// <summary>Which list of <see cref="GpuHealthTable"/> an XID is on.</summary>
internal enum XidKind
{
    Hardware,
    Application,
    Unclassified,
}
