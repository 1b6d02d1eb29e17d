namespace Drover.Nvml.Interop;

/// <summary>
/// The compute-process call a loaded library offers (<see cref="Symbol"/>, resolved to <see cref="Function"/>)
/// and the size of the records it writes, chosen from the library's exports by <see cref="Choose"/>.
/// </summary>
/// <remarks>
/// Every driver from R510 on is supported: <c>_v3</c> where exported, <c>_v2</c> otherwise (535.98 and older
/// R510/R515 builds export no <c>_v3</c>). Both write the 24-byte v2 record, except <c>_v3</c> on R535.43 to
/// 535.86, which writes 32-byte records (<c>usedGpuCcProtectedMemory</c> appended) with no version change, so
/// reading them 24 bytes apart garbles every record after the first. Those drivers are told apart by their
/// exports, never by the version string: they export <c>nvmlDeviceGetConfComputeMemSizeInfo</c> (R535 on) but
/// not <c>nvmlDeviceGetRunningProcessDetailList</c> (added by the fixed drivers), the rule nvitop uses
/// (XuehaiPan/nvitop #88, #89, #94, PR #79). Whatever is chosen, callers size buffers for
/// <see cref="MaxRecordBytes"/> per record, so a driver writing larger records than detected cannot write past
/// them. The bare <c>nvmlDeviceGetComputeRunningProcesses</c> (v1, 16-byte records) is not used: every
/// driver since R450 exports <c>_v2</c>.
/// </remarks>
/// <param name="Symbol">The exported name called, for errors and logs.</param>
/// <param name="RecordBytes">The distance between two records the call writes: 24, or 32 on R535.43 to 535.86.</param>
/// <param name="Function">The address of <paramref name="Symbol"/> in the loaded library.</param>
internal sealed record NvmlProcessList(string Symbol, int RecordBytes, nint Function)
{
    /// <summary>The v2 <c>nvmlProcessInfo_t</c> (<see cref="NvmlProcessInfo"/>): pid, usedGpuMemory, GPU and compute instance ids.</summary>
    internal const int V2RecordBytes = 24;

    /// <summary>The R535.43 to 535.86 record (<see cref="NvmlProcessInfoCc"/>): the v2 record, then usedGpuCcProtectedMemory.</summary>
    internal const int CcRecordBytes = 32;

    /// <summary>The largest record any supported driver writes; process buffers hold this much per entry.</summary>
    internal const int MaxRecordBytes = CcRecordBytes;

    internal const string ComputeProcessesV3Symbol = "nvmlDeviceGetComputeRunningProcesses_v3";
    internal const string ComputeProcessesV2Symbol = "nvmlDeviceGetComputeRunningProcesses_v2";
    internal const string ConfComputeMemSizeInfoSymbol = "nvmlDeviceGetConfComputeMemSizeInfo";
    internal const string RunningProcessDetailListSymbol = "nvmlDeviceGetRunningProcessDetailList";

    /// <summary>Finds an exported symbol, as <see cref="System.Runtime.InteropServices.NativeLibrary.TryGetExport"/> does.</summary>
    internal delegate bool ExportLookup(string symbol, out nint address);

    /// <summary>The call and record size for a library with these exports; null when it exports neither <c>_v3</c> nor <c>_v2</c>.</summary>
    internal static NvmlProcessList? Choose(ExportLookup exports)
    {
        if (exports(ComputeProcessesV3Symbol, out var v3))
        {
            var ccRecords = exports(ConfComputeMemSizeInfoSymbol, out _) && !exports(RunningProcessDetailListSymbol, out _);
            return new NvmlProcessList(ComputeProcessesV3Symbol, ccRecords ? CcRecordBytes : V2RecordBytes, v3);
        }

        return exports(ComputeProcessesV2Symbol, out var v2)
            ? new NvmlProcessList(ComputeProcessesV2Symbol, V2RecordBytes, v2)
            : null;
    }

    /// <summary>
    /// Calls <see cref="Function"/>: <c>nvmlReturn_t (nvmlDevice_t device, unsigned int *infoCount, void *infos)</c>.
    /// <paramref name="infos"/> must hold <c>*infoCount</c> records of <see cref="MaxRecordBytes"/>.
    /// </summary>
    internal unsafe NvmlReturn Invoke(nint device, uint* infoCount, byte* infos) =>
        ((delegate* unmanaged<nint, uint*, byte*, NvmlReturn>)Function)(device, infoCount, infos);
}
