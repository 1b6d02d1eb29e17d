using System.Diagnostics.CodeAnalysis;

namespace Drover.Nvml;

/// <summary>
/// The outcome of an NVML call: a value, or the <see cref="NvmlError"/> that NVML returned. NVML failures are
/// reported this way, never as exceptions.
/// </summary>
/// <typeparam name="T">The type of the value.</typeparam>
/// <remarks>The default value of this struct is a success holding <c>default(T)</c>.</remarks>
public readonly struct NvmlResult<T>
{
    private readonly T _value;

    private NvmlResult(T value, NvmlError? error)
    {
        _value = value;
        Error = error;
    }

    /// <summary>Whether the call succeeded; when false, <see cref="Error"/> says why.</summary>
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    /// <summary>The value of a successful call.</summary>
    /// <exception cref="InvalidOperationException">The call failed.</exception>
    public T Value => Error is null
        ? _value
        : throw new InvalidOperationException($"The NVML call failed: {Error}.");

    /// <summary>The error of a failed call; null on success.</summary>
    public NvmlError? Error { get; }

    /// <summary>A successful result holding <paramref name="value"/>.</summary>
    public static NvmlResult<T> Ok(T value) => new(value, null);

    /// <summary>A failed result carrying <paramref name="error"/>.</summary>
    public static NvmlResult<T> Fail(NvmlError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new(default!, error);
    }

    /// <summary>Gets the value when the call succeeded.</summary>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return Error is null;
    }

    /// <summary>Returns the value, or <c>Failed: error</c>.</summary>
    public override string ToString() => Error is null ? $"Ok: {_value}" : $"Failed: {Error}";
}
