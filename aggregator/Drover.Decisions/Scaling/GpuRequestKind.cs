namespace Drover.Decisions.Scaling;

/// <summary>What kind of GPU a function's instances may be placed on (see <see cref="GpuRequest"/>).</summary>
public enum GpuRequestKind
{
    /// <summary>A whole GPU or a MIG instance, whichever ranks first.</summary>
    Any,

    /// <summary>Whole GPUs only: never a MIG instance.</summary>
    Whole,

    /// <summary>MIG instances only: of any profile, or of <see cref="GpuRequest.Profile"/> when it is set.</summary>
    Mig,
}
