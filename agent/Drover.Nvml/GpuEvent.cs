namespace Drover.Nvml;

/// <summary>
/// An event delivered by an <see cref="IGpuEventSet"/>.
/// </summary>
/// <param name="Uuid">The UUID of the GPU it happened on, or of the MIG instance it names (NVML reports those on the parent GPU).</param>
/// <param name="Type">The event type.</param>
/// <param name="Data">The event's data: the XID for <see cref="GpuEventTypes.XidCriticalError"/>.</param>
public readonly record struct GpuEvent(string Uuid, GpuEventTypes Type, ulong Data);
