namespace Drover.Decisions.Scaling;

/// <summary>
/// The GPUs a function's instances may be placed on, as its definition's <c>gpu</c> names them: <c>any</c>
/// (the default), <c>whole</c>, <c>mig</c> or <c>mig:&lt;profile&gt;</c>. A MIG instance is placed on as a
/// GPU of its own; a MIG-enabled GPU is not placed on at all (its caller marks it not healthy), since CUDA
/// cannot use it whole.
/// </summary>
/// <param name="Kind">Whole GPUs, MIG instances, or either.</param>
/// <param name="Profile">
/// With <see cref="GpuRequestKind.Mig"/>: the one MIG profile accepted ("1g.10gb"), compared exactly; null
/// accepts any profile. Not read for the other kinds.
/// </param>
public readonly record struct GpuRequest(GpuRequestKind Kind, string? Profile)
{
    /// <summary>The longest profile <c>mig:&lt;profile&gt;</c> may name (the agent's own bound on a MIG profile).</summary>
    public const int MaxProfileLength = 32;

    /// <summary>The accepted forms, as a refusal lists them.</summary>
    public const string Forms = "'any' (a whole GPU or a MIG instance), 'whole' (whole GPUs only), 'mig' (any MIG instance) "
        + "or 'mig:<profile>' (MIG instances of that profile: 1-32 characters of A-Z a-z 0-9 . + _ -, such as 'mig:1g.10gb')";

    private const string MigPrefix = "mig:";

    /// <summary>Whether an instance asking for this may be placed on <paramref name="gpu"/> (health and memory aside).</summary>
    /// <remarks>A MIG instance whose profile is unknown (<see cref="ScalingGpu.MigProfile"/> empty) fits <c>mig</c> but no <c>mig:&lt;profile&gt;</c>.</remarks>
    public bool Fits(ScalingGpu gpu)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        return Kind switch
        {
            GpuRequestKind.Whole => gpu.MigProfile is null,
            GpuRequestKind.Mig => gpu.MigProfile is { } profile && (Profile is null || string.Equals(profile, Profile, StringComparison.Ordinal)),
            _ => true,
        };
    }

    /// <summary>
    /// Reads a definition's <c>gpu</c>: exactly <c>any</c>, <c>whole</c>, <c>mig</c>, or <c>mig:</c> followed by
    /// 1-<see cref="MaxProfileLength"/> characters of <c>[A-Za-z0-9.+_-]</c>. False for anything else (null, another
    /// case, spaces), with <paramref name="request"/> left at <see cref="GpuRequestKind.Any"/>.
    /// </summary>
    public static bool TryParse(string? value, out GpuRequest request)
    {
        request = default;
        switch (value)
        {
            case "any":
                return true;
            case "whole":
                request = new GpuRequest(GpuRequestKind.Whole, null);
                return true;
            case "mig":
                request = new GpuRequest(GpuRequestKind.Mig, null);
                return true;
        }

        if (value is null || !value.StartsWith(MigPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var profile = value[MigPrefix.Length..];
        if (profile.Length is 0 or > MaxProfileLength || !profile.All(IsProfileChar))
        {
            return false;
        }

        request = new GpuRequest(GpuRequestKind.Mig, profile);
        return true;
    }

    /// <summary>The request as a definition writes it: <c>any</c>, <c>whole</c>, <c>mig</c> or <c>mig:&lt;profile&gt;</c>.</summary>
    public override string ToString() => Kind switch
    {
        GpuRequestKind.Whole => "whole",
        GpuRequestKind.Mig => Profile is null ? "mig" : MigPrefix + Profile,
        _ => "any",
    };

    private static bool IsProfileChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '_' or '-';
}
