namespace Drover.Nvml;

/// <summary>
/// NVML event types (<c>nvmlEventType*</c> masks in nvml.h).
/// </summary>
[Flags]
#pragma warning disable CA1028 // The masks are 64-bit in nvml.h.
public enum GpuEventTypes : ulong
#pragma warning restore CA1028
{
    /// <summary>No event.</summary>
    None = 0,

    /// <summary>A corrected (single-bit) ECC error.</summary>
    SingleBitEccError = 0x1,

    /// <summary>An uncorrected (double-bit) ECC error.</summary>
    DoubleBitEccError = 0x2,

    /// <summary>A critical XID error; the event's data holds the XID (999 when unknown).</summary>
    XidCriticalError = 0x8,

    /// <summary>The GPU became unavailable.</summary>
    GpuUnavailableError = 0x4000,
}
