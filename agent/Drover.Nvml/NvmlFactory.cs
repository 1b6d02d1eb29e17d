namespace Drover.Nvml;

/// <summary>
/// Creates the NVML binding.
/// </summary>
public static class NvmlFactory
{
    /// <summary>
    /// Creates an <see cref="INvml"/> for <paramref name="options"/>. Nothing is loaded until
    /// <see cref="INvml.Initialize"/>.
    /// </summary>
    public static INvml Create(NvmlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new NvmlClient(options.LibraryPath ?? NvmlOptions.DefaultLibraryName);
    }
}
