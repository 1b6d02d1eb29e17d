namespace Drover.Nvml;

/// <summary>
/// A failed NVML call.
/// </summary>
/// <param name="Code">The NVML return code.</param>
/// <param name="Message">
/// The text of <c>nvmlErrorString</c> for <paramref name="Code"/>; for failures of this binding itself
/// (the library cannot be loaded, a symbol is missing, the binding was disposed) a sentence that names the cause.
/// </param>
/// <param name="Call">The NVML function that failed (for example <c>nvmlInit_v2</c>), or the binding's own step.</param>
public sealed record NvmlError(NvmlReturn Code, string Message, string Call)
{
    /// <summary>Returns <c>Call: Message (Code)</c>.</summary>
    public override string ToString() => $"{Call}: {Message} ({Code})";
}
