using Drover.Protocol.V1;

namespace Drover.Agent.Telemetry;

/// <summary>A sample's health, its reason (empty when plainly ok) and the XID behind it (0: none).</summary>
internal readonly record struct GpuVerdict(GpuHealth Health, string Reason, uint Xid);
