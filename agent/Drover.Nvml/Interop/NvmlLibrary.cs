using System.Reflection;
using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// Loads the NVML library once per process and resolves <see cref="NvmlInterop"/>'s imports to it through the
/// assembly's <see cref="NativeLibrary.SetDllImportResolver"/>, so a configured path overrides the soname.
/// </summary>
/// <remarks>
/// The runtime binds each import the first time it is called, so one process uses one NVML library: after a
/// library loaded, a request for a different file fails with a clear error instead of mixing two libraries.
/// A failed load is an <see cref="NvmlError"/>, never an exception.
/// </remarks>
internal static class NvmlLibrary
{
    private static readonly Lock _gate = new();
    private static nint _handle;
    private static string? _loadedPath;
    private static bool _resolverInstalled;

    /// <summary>Whether the loaded library exports nvmlDeviceGetMemoryInfo_v2.</summary>
    internal static bool HasMemoryInfoV2 { get; private set; }

    /// <summary>Whether a library is loaded and bound.</summary>
    internal static bool IsLoaded => Volatile.Read(ref _handle) != 0;

    /// <summary>
    /// Loads <paramref name="path"/> (a path, or the soname) unless it is the library already loaded, and checks
    /// that it exports every required symbol. Returns null on success.
    /// </summary>
    internal static NvmlError? Load(string path)
    {
        const string Call = "NativeLibrary.Load";
        if (string.IsNullOrWhiteSpace(path))
        {
            return new NvmlError(NvmlReturn.LibraryNotFound, "The NVML library path is empty; configure a file path or leave it unset to load 'libnvidia-ml.so.1'.", Call);
        }

        lock (_gate)
        {
            if (_handle != 0 && string.Equals(path, _loadedPath, StringComparison.Ordinal))
            {
                return null;
            }

            if (!NativeLibrary.TryLoad(path, out var handle))
            {
                var hint = path.Contains('/', StringComparison.Ordinal)
                    ? "check that the file exists and is a 64-bit shared library"
                    : "is the NVIDIA driver installed? A configured library path overrides the soname";
                return new NvmlError(NvmlReturn.LibraryNotFound, $"The NVML library '{path}' could not be loaded ({hint}).", Call);
            }

            if (_handle != 0)
            {
                // dlopen returns the same handle for the same file reached by another name.
                var same = handle == _handle;
                NativeLibrary.Free(handle);
                if (same)
                {
                    return null;
                }

                return new NvmlError(
                    NvmlReturn.InvalidArgument,
                    $"The NVML library '{path}' cannot be used: this process already uses '{_loadedPath}', and one process binds one NVML library.",
                    Call);
            }

            foreach (var symbol in NvmlInterop.RequiredSymbols)
            {
                if (!NativeLibrary.TryGetExport(handle, symbol, out _))
                {
                    NativeLibrary.Free(handle);
                    return new NvmlError(NvmlReturn.FunctionNotFound, $"The NVML library '{path}' does not export '{symbol}'.", "NativeLibrary.TryGetExport");
                }
            }

            HasMemoryInfoV2 = NativeLibrary.TryGetExport(handle, NvmlInterop.MemoryInfoV2Symbol, out _);
            _loadedPath = path;
            if (!_resolverInstalled)
            {
                NativeLibrary.SetDllImportResolver(typeof(NvmlLibrary).Assembly, Resolve);
                _resolverInstalled = true;
            }

            Volatile.Write(ref _handle, handle);
            return null;
        }
    }

    /// <summary>
    /// Looks <paramref name="symbol"/> up in the loaded library (dlsym). For optional symbols, probed after every
    /// nvmlInit_v2: a real library's exports never change, but the stand-in's follow its scenario, and a few
    /// look-ups per initialization cost nothing.
    /// </summary>
    internal static bool TryGetExport(string symbol, out nint address)
    {
        var handle = Volatile.Read(ref _handle);
        address = 0;
        return handle != 0 && NativeLibrary.TryGetExport(handle, symbol, out address) && address != 0;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        string.Equals(libraryName, NvmlInterop.LibraryName, StringComparison.Ordinal) ? Volatile.Read(ref _handle) : 0;
}
