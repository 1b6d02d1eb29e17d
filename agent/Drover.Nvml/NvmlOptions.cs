namespace Drover.Nvml;

/// <summary>
/// How the NVML binding finds its library.
/// </summary>
public sealed record NvmlOptions
{
    /// <summary>The soname the NVIDIA driver installs, loaded when no path is configured.</summary>
    public const string DefaultLibraryName = "libnvidia-ml.so.1";

    /// <summary>
    /// The path of the NVML library to load instead of the driver's <c>libnvidia-ml.so.1</c> (for example the
    /// stand-in built from <c>native/fake-nvml</c>); null loads the soname through the system's loader.
    /// One process uses one NVML library: the first one loaded successfully stays in use.
    /// </summary>
    public string? LibraryPath { get; init; }
}
