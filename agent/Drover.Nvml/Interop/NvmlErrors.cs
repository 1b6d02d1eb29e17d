using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// Turns NVML return codes into <see cref="NvmlError"/>s carrying nvmlErrorString's text. Errors are immutable
/// and cached per (code, call), so a GPU that keeps failing the same way allocates nothing per sample.
/// </summary>
internal static class NvmlErrors
{
    private static readonly ConcurrentDictionary<(NvmlReturn Code, string Call), NvmlError> _cache = new();

    /// <summary>The error for <paramref name="code"/> returned by <paramref name="call"/>.</summary>
    internal static NvmlError From(NvmlReturn code, string call) =>
        _cache.TryGetValue((code, call), out var error)
            ? error
            : _cache.GetOrAdd((code, call), static key => new NvmlError(key.Code, Message(key.Code), key.Call));

    /// <summary>A failed result for <paramref name="code"/> returned by <paramref name="call"/>.</summary>
    internal static NvmlResult<T> Fail<T>(NvmlReturn code, string call) => NvmlResult<T>.Fail(From(code, call));

    /// <summary>nvmlErrorString's text for <paramref name="code"/>.</summary>
    internal static unsafe string Message(NvmlReturn code)
    {
        if (!NvmlLibrary.IsLoaded)
        {
            return code.ToString();
        }

        var text = NvmlInterop.ErrorString(code);
        return text is null ? code.ToString() : Marshal.PtrToStringUTF8((nint)text) ?? code.ToString();
    }

    /// <summary>The error for a call on a binding that was disposed.</summary>
    internal static NvmlError Disposed(string call) =>
        new(NvmlReturn.Uninitialized, "The NVML binding was disposed; NVML was shut down.", call);
}
