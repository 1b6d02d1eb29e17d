namespace Drover.Nvml;

/// <summary>
/// What makes a device a MIG instance: the GPU it is carved from and how NVML names it inside that GPU.
/// </summary>
/// <param name="ParentUuid">The UUID of the GPU the instance is carved from (<c>GPU-…</c>).</param>
/// <param name="Profile">
/// The instance's profile as its name gives it (<c>1g.10gb</c> from <c>NVIDIA H100 80GB HBM3 MIG 1g.10gb</c>); empty when
/// the name has none.
/// </param>
/// <param name="GpuInstanceId">The GPU instance id (how events and process records name it).</param>
/// <param name="ComputeInstanceId">The compute instance id inside that GPU instance.</param>
public sealed record GpuMigInstance(string ParentUuid, string Profile, uint GpuInstanceId, uint ComputeInstanceId)
{
    /// <summary>The longest profile kept; a longer one (not a profile NVIDIA names) is left out.</summary>
    public const int MaxProfileLength = 32;

    private const string Marker = " MIG ";

    /// <summary>
    /// The profile in a MIG device's name: the text after its last <c>" MIG "</c>, when that is one word of at most
    /// <see cref="MaxProfileLength"/> printable ASCII characters (as the aggregator accepts a profile); empty otherwise.
    /// </summary>
    public static string ProfileOf(string name)
    {
        var at = name.LastIndexOf(Marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return string.Empty;
        }

        var profile = name[(at + Marker.Length)..].Trim();
        return profile.Length is > 0 and <= MaxProfileLength && profile.All(c => c is > ' ' and <= '~') ? profile : string.Empty;
    }
}
