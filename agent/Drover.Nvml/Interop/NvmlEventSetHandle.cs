using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// Owns an <c>nvmlEventSet_t</c>. A wait holds a reference, so disposing during a wait frees the set only when
/// the wait returned.
/// </summary>
internal sealed class NvmlEventSetHandle : SafeHandle
{
    internal NvmlEventSetHandle(nint handle)
        : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        // After nvmlShutdown NVML may report Uninitialized; there is nothing more to do with the set either way.
        _ = NvmlInterop.EventSetFree(handle);
        return true;
    }
}
