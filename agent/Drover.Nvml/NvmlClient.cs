using System.Text;
using Drover.Nvml.Interop;

namespace Drover.Nvml;

/// <summary>
/// <see cref="INvml"/> over the real NVML API (or the stand-in library, through the configured path).
/// </summary>
internal sealed class NvmlClient : INvml
{
    /// <summary>Enumeration stops here whatever count the driver reports.</summary>
    internal const int MaxDevices = 1024;

    /// <summary>MIG instances are looked for at no more indexes than this per GPU (NVML's maximum today is 7).</summary>
    internal const int MaxMigDevicesPerGpu = 64;

    private readonly Lock _gate = new();
    private readonly string _libraryPath;
    private readonly Dictionary<string, GpuDevice> _known = new(StringComparer.Ordinal);
    private readonly List<GpuEventSet> _eventSets = [];
    private GpuDevice[]? _devices;
    private string? _driverVersion;
    private volatile NvmlProcessList? _processList;
    private volatile bool _disposed;
    private volatile bool _initialized;

    internal NvmlClient(string libraryPath) => _libraryPath = libraryPath;

    /// <summary>The library this client loads.</summary>
    internal string LibraryPath => _libraryPath;

    /// <summary>Use nvmlDeviceGetMemoryInfo (v1) even when v2 is exported; lets tests cover the fallback.</summary>
    internal bool ForceMemoryInfoV1 { get; set; }

    internal bool UseMemoryInfoV2 => NvmlLibrary.HasMemoryInfoV2 && !ForceMemoryInfoV1;

    internal bool IsDisposed => _disposed;

    /// <summary>Counts successful initializations: what was taken from one (GPM samples) is not used in the next.</summary>
    internal int Epoch { get; private set; }

    /// <summary>The current handle of the device <paramref name="uuid"/>; 0 when it is not known.</summary>
    internal nint HandleOf(string uuid)
    {
        lock (_gate)
        {
            return _known.TryGetValue(uuid, out var device) ? device.Handle : 0;
        }
    }

    /// <summary>
    /// Why a device call may not reach the library now: the binding was disposed, or NVML is not initialised
    /// (shut down to recover, or never initialised; a handle from before is not valid then). Null when it may.
    /// </summary>
    internal NvmlError? Closed(string call)
        => _disposed ? NvmlErrors.Disposed(call)
            : !_initialized ? new NvmlError(NvmlReturn.Uninitialized, "NVML is not initialised (it was shut down to recover, or never initialised).", call)
            : null;

    /// <summary>The compute-process call of the library, chosen from its exports at initialization; null before.</summary>
    internal NvmlProcessList? ProcessList => _processList;

    public NvmlResult<string> Initialize()
    {
        lock (_gate)
        {
            return InitializeLocked();
        }
    }

    public NvmlResult<IReadOnlyList<IGpuDevice>> GetDevices()
    {
        lock (_gate)
        {
            if (_devices is not null && !_disposed)
            {
                return NvmlResult<IReadOnlyList<IGpuDevice>>.Ok(_devices);
            }

            return EnumerateLocked();
        }
    }

    public NvmlResult<IReadOnlyList<IGpuDevice>> Rescan()
    {
        lock (_gate)
        {
            return EnumerateLocked();
        }
    }

    public unsafe NvmlResult<IGpuEventSet> CreateEventSet(IEnumerable<IGpuDevice> devices, GpuEventTypes types)
    {
        const string Create = "nvmlEventSetCreate";
        ArgumentNullException.ThrowIfNull(devices);
        lock (_gate)
        {
            var initialized = InitializeLocked();
            if (!initialized.IsSuccess)
            {
                return NvmlResult<IGpuEventSet>.Fail(initialized.Error);
            }

            nint raw = 0;
            var code = NvmlInterop.EventSetCreate(&raw);
            if (code != NvmlReturn.Success)
            {
                return NvmlErrors.Fail<IGpuEventSet>(code, Create);
            }

            var handle = new NvmlEventSetHandle(raw);
            var registered = new Dictionary<nint, string>();
            foreach (var candidate in devices)
            {
                if (candidate is not GpuDevice device || !ReferenceEquals(device.Owner, this))
                {
                    handle.Dispose();
                    return NvmlResult<IGpuEventSet>.Fail(new NvmlError(
                        NvmlReturn.InvalidArgument,
                        $"The device '{candidate?.Uuid}' was not enumerated by this NVML binding.",
                        Create));
                }

                var failure = Register(device, types, raw, registered);
                if (failure is not null)
                {
                    handle.Dispose();
                    return NvmlResult<IGpuEventSet>.Fail(failure);
                }
            }

            var set = new GpuEventSet(this, handle, registered);
            _eventSets.Add(set);
            return NvmlResult<IGpuEventSet>.Ok(set);
        }
    }

    public void Shutdown(TimeSpan waitBound)
    {
        GpuEventSet[] sets;
        lock (_gate)
        {
            sets = [.. _eventSets];
            _eventSets.Clear();
        }

        // Freed once no wait is in them: a set freed under a waiting thread, or NVML shut down under it, is not safe.
        foreach (var set in sets)
        {
            set.Dispose();
        }

        var deadline = Environment.TickCount64 + (long)waitBound.TotalMilliseconds;
        while (sets.Any(s => s.Waiting) && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(5);
        }

        lock (_gate)
        {
            _initialized = false;
            if (_driverVersion is not null)
            {
                ReleaseGpmLocked();
                _ = NvmlInterop.Shutdown();
                _driverVersion = null;
            }

            _devices = null;
        }
    }

    /// <summary>Frees every device's GPM samples, which belong to the initialization about to end.</summary>
    private void ReleaseGpmLocked()
    {
        foreach (var device in _known.Values)
        {
            device.ReleaseGpm();
        }
    }

    public void Dispose()
    {
        GpuEventSet[] sets;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sets = [.. _eventSets];
            _eventSets.Clear();
        }

        foreach (var set in sets)
        {
            set.Dispose();
        }

        lock (_gate)
        {
            _initialized = false;
            if (_driverVersion is not null)
            {
                ReleaseGpmLocked();
                _ = NvmlInterop.Shutdown();
                _driverVersion = null;
            }
        }
    }

    internal void Forget(GpuEventSet set)
    {
        lock (_gate)
        {
            _eventSets.Remove(set);
        }
    }

    /// <summary>
    /// The device an event names: the MIG instance of the GPU <paramref name="handle"/> with those instance ids when
    /// the event carries them and that instance is known (NVML reports a MIG instance's events on its parent), else
    /// the GPU itself; null when the handle is not known.
    /// </summary>
    internal string? FindUuid(nint handle, uint gpuInstanceId, uint computeInstanceId)
    {
        var parent = FindUuid(handle);
        if (parent is null || gpuInstanceId == NvmlInterop.NoInstanceId)
        {
            return parent;
        }

        lock (_gate)
        {
            foreach (var device in _devices ?? [])
            {
                if (device.Mig is { } mig && string.Equals(mig.ParentUuid, parent, StringComparison.Ordinal) && mig.GpuInstanceId == gpuInstanceId &&
                    (computeInstanceId == NvmlInterop.NoInstanceId || mig.ComputeInstanceId == computeInstanceId))
                {
                    return device.Uuid;
                }
            }
        }

        return parent;
    }

    internal string? FindUuid(nint handle)
    {
        lock (_gate)
        {
            foreach (var device in _known.Values)
            {
                if (device.Handle == handle)
                {
                    return device.Uuid;
                }
            }

            return null;
        }
    }

    private static unsafe NvmlError? Register(GpuDevice device, GpuEventTypes types, nint set, Dictionary<nint, string> registered)
    {
        var handle = device.Handle;
        ulong supported = 0;
        var code = NvmlInterop.DeviceGetSupportedEventTypes(handle, &supported);
        if (IsDeviceUnavailable(code))
        {
            return null;
        }

        if (code != NvmlReturn.Success)
        {
            return NvmlErrors.From(code, "nvmlDeviceGetSupportedEventTypes");
        }

        var mask = supported & (ulong)types;
        if (mask == 0)
        {
            return null;
        }

        code = NvmlInterop.DeviceRegisterEvents(handle, mask, set);
        if (IsDeviceUnavailable(code))
        {
            return null;
        }

        if (code != NvmlReturn.Success)
        {
            return NvmlErrors.From(code, "nvmlDeviceRegisterEvents");
        }

        registered[handle] = device.Uuid;
        return null;
    }

    // A GPU that needs a reset, answers UNKNOWN or is not ready yet is left out of the set like a lost one:
    // failing the whole set for it would stop watching the sound GPUs beside it. Its sampler reports it.
    private static bool IsDeviceUnavailable(NvmlReturn code) =>
        code is NvmlReturn.NotSupported or NvmlReturn.NoPermission or NvmlReturn.GpuIsLost
            or NvmlReturn.ResetRequired or NvmlReturn.Unknown or NvmlReturn.NotReady;

    private unsafe NvmlResult<string> InitializeLocked()
    {
        if (_disposed)
        {
            return NvmlResult<string>.Fail(NvmlErrors.Disposed("nvmlInit_v2"));
        }

        if (_driverVersion is not null)
        {
            return NvmlResult<string>.Ok(_driverVersion);
        }

        var loadError = NvmlLibrary.Load(_libraryPath);
        if (loadError is not null)
        {
            return NvmlResult<string>.Fail(loadError);
        }

        var code = NvmlInterop.Init();
        if (code != NvmlReturn.Success)
        {
            return NvmlErrors.Fail<string>(code, "nvmlInit_v2");
        }

        var buffer = stackalloc byte[NvmlInterop.DriverVersionBufferSize];
        code = NvmlInterop.SystemGetDriverVersion(buffer, NvmlInterop.DriverVersionBufferSize);
        if (code != NvmlReturn.Success)
        {
            _ = NvmlInterop.Shutdown();
            return NvmlErrors.Fail<string>(code, "nvmlSystemGetDriverVersion");
        }

        var processList = NvmlProcessList.Choose(NvmlLibrary.TryGetExport);
        if (processList is null)
        {
            _ = NvmlInterop.Shutdown();
            return NvmlResult<string>.Fail(new NvmlError(
                NvmlReturn.FunctionNotFound,
                $"The NVML library '{_libraryPath}' exports neither '{NvmlProcessList.ComputeProcessesV3Symbol}' nor '{NvmlProcessList.ComputeProcessesV2Symbol}'; drivers from R510 on export at least one.",
                "NativeLibrary.TryGetExport"));
        }

        _processList = processList;
        NvmlGpm.Use(NvmlLibrary.TryGetExport);
        Epoch++;
        NvmlInterop.UseClocksEventReasons(NvmlLibrary.TryGetExport(NvmlInterop.ClocksEventReasonsSymbol, out var reasons) ? reasons : 0);
        _driverVersion = Utf8(buffer, NvmlInterop.DriverVersionBufferSize);
        _initialized = true;
        return NvmlResult<string>.Ok(_driverVersion);
    }

    private unsafe NvmlResult<IReadOnlyList<IGpuDevice>> EnumerateLocked()
    {
        var initialized = InitializeLocked();
        if (!initialized.IsSuccess)
        {
            return NvmlResult<IReadOnlyList<IGpuDevice>>.Fail(initialized.Error);
        }

        uint count = 0;
        var code = NvmlInterop.DeviceGetCount(&count);
        if (code != NvmlReturn.Success)
        {
            return NvmlErrors.Fail<IReadOnlyList<IGpuDevice>>(code, "nvmlDeviceGetCount_v2");
        }

        var found = new List<GpuDevice>((int)Math.Min(count, MaxDevices));
        var uuidBuffer = stackalloc byte[NvmlInterop.UuidBufferSize];
        var nameBuffer = stackalloc byte[NvmlInterop.NameBufferSize];
        for (uint index = 0; index < count && index < MaxDevices; index++)
        {
            nint handle = 0;
            if (NvmlInterop.DeviceGetHandleByIndex(index, &handle) != NvmlReturn.Success ||
                !TryIdentify(handle, found, uuidBuffer, nameBuffer, out var uuid, out var name))
            {
                continue;
            }

            NvmlPciInfo pci = default;
            var pciBusId = NvmlInterop.DeviceGetPciInfo(handle, &pci) == NvmlReturn.Success
                ? Utf8(pci.BusId, NvmlPciInfo.BusIdSize)
                : string.Empty;

            found.Add(Know(uuid, (int)index, handle, name, pciBusId, null));
            uint current = 0, pending = 0;
            if (NvmlInterop.DeviceGetMigMode(handle, &current, &pending) == NvmlReturn.Success && current == NvmlInterop.MigEnable)
            {
                EnumerateMigLocked(found, uuid, (int)index, handle, pciBusId, uuidBuffer, nameBuffer);
            }
        }

        _devices = [.. found];
        return NvmlResult<IReadOnlyList<IGpuDevice>>.Ok(_devices);
    }

    /// <summary>
    /// Adds the MIG instances of the GPU <paramref name="parentUuid"/> (MIG enabled) to <paramref name="found"/>: each
    /// index below NVML's maximum that has one, with its UUID, profile and instance ids. An instance whose UUID or ids
    /// cannot be read is left out, as a GPU whose UUID cannot be read is.
    /// </summary>
    private unsafe void EnumerateMigLocked(List<GpuDevice> found, string parentUuid, int index, nint parent, string pciBusId, byte* uuidBuffer, byte* nameBuffer)
    {
        uint max = 0;
        if (NvmlInterop.DeviceGetMaxMigDeviceCount(parent, &max) != NvmlReturn.Success)
        {
            return;
        }

        for (uint slot = 0; slot < max && slot < MaxMigDevicesPerGpu; slot++)
        {
            nint handle = 0;
            uint gpuInstance = 0, computeInstance = 0;
            if (NvmlInterop.DeviceGetMigDeviceHandleByIndex(parent, slot, &handle) != NvmlReturn.Success ||
                NvmlInterop.DeviceGetGpuInstanceId(handle, &gpuInstance) != NvmlReturn.Success ||
                NvmlInterop.DeviceGetComputeInstanceId(handle, &computeInstance) != NvmlReturn.Success ||
                !TryIdentify(handle, found, uuidBuffer, nameBuffer, out var uuid, out var name))
            {
                continue; // NOT_FOUND: no instance at this index
            }

            var mig = new GpuMigInstance(parentUuid, GpuMigInstance.ProfileOf(name), gpuInstance, computeInstance);
            found.Add(Know(uuid, index, handle, name, pciBusId, mig));
        }
    }

    /// <summary>
    /// The UUID and name of the device <paramref name="handle"/>; false when its UUID cannot be read, is empty, or was
    /// already found (a repeated UUID is listed once). A name NVML does not give is empty.
    /// </summary>
    private static unsafe bool TryIdentify(nint handle, List<GpuDevice> found, byte* uuidBuffer, byte* nameBuffer, out string uuid, out string name)
    {
        name = string.Empty;
        uuid = NvmlInterop.DeviceGetUuid(handle, uuidBuffer, NvmlInterop.UuidBufferSize) == NvmlReturn.Success
            ? Utf8(uuidBuffer, NvmlInterop.UuidBufferSize)
            : string.Empty;
        var candidate = uuid;
        if (candidate.Length == 0 || found.Exists(device => string.Equals(device.Uuid, candidate, StringComparison.Ordinal)))
        {
            return false;
        }

        if (NvmlInterop.DeviceGetName(handle, nameBuffer, NvmlInterop.NameBufferSize) == NvmlReturn.Success)
        {
            name = Utf8(nameBuffer, NvmlInterop.NameBufferSize);
        }

        return true;
    }

    /// <summary>The device object of <paramref name="uuid"/>, made on its first enumeration and refreshed on later ones.</summary>
    private GpuDevice Know(string uuid, int index, nint handle, string name, string pciBusId, GpuMigInstance? mig)
    {
        if (_known.TryGetValue(uuid, out var known))
        {
            known.Update(index, handle, name, pciBusId, mig);
        }
        else
        {
            known = new GpuDevice(this, uuid, index, handle, name, pciBusId, mig);
            _known.Add(uuid, known);
        }

        return known;
    }

    internal static unsafe string Utf8(byte* buffer, int capacity)
    {
        var bytes = new ReadOnlySpan<byte>(buffer, capacity);
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
