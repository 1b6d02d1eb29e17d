using System.Runtime.InteropServices;

namespace Drover.Nvml.Tests.Fakes;

/// <summary>
/// The process environment as native code sees it. On Unix, Environment.SetEnvironmentVariable changes only the
/// runtime's managed copy, which the stand-in's getenv never reads; setenv changes the real one.
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

    public static void Unset(string name) => _ = UnsetEnv(name);

    /// <summary>
    /// Runs <paramref name="action"/> with file descriptor 2 redirected to a file and returns what was written to
    /// it, so a test can read the stand-in's messages on stderr.
    /// </summary>
    public static string CaptureStandardError(Action action)
    {
        var path = Path.Combine(Path.GetTempPath(), $"drover-stderr-{Guid.NewGuid():N}.txt");
        var saved = Dup(2);
        Assert.True(saved >= 0, "dup(2) failed");
        try
        {
            using (var file = File.Create(path))
            {
                Assert.True(Dup2((int)file.SafeFileHandle.DangerousGetHandle(), 2) >= 0, "dup2 failed");
                try
                {
                    action();
                }
                finally
                {
                    _ = Dup2(saved, 2);
                }
            }

            return File.ReadAllText(path);
        }
        finally
        {
            _ = Close(saved);
            File.Delete(path);
        }
    }

    [LibraryImport(LibC, EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport(LibC, EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);

    [LibraryImport(LibC, EntryPoint = "dup")]
    private static partial int Dup(int fd);

    [LibraryImport(LibC, EntryPoint = "dup2")]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport(LibC, EntryPoint = "close")]
    private static partial int Close(int fd);
}
