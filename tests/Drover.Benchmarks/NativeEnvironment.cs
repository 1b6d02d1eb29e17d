using System.Runtime.InteropServices;

namespace Drover.Benchmarks;

/// <summary>
/// The process environment as native code sees it. On Unix, Environment.SetEnvironmentVariable changes only the
/// runtime's managed copy, which the stand-in NVML's getenv never reads; libc's setenv changes the real one.
/// </summary>
internal static partial class NativeEnvironment
{
    private const string LibC = "libc.so.6";

    public static void Set(string name, string value)
    {
        if (SetEnv(name, value, 1) != 0)
        {
            throw new InvalidOperationException($"setenv({name}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [LibraryImport(LibC, EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
