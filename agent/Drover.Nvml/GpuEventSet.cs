using Drover.Nvml.Interop;

namespace Drover.Nvml;

/// <summary>
/// <see cref="IGpuEventSet"/> over an <c>nvmlEventSet_t</c>.
/// </summary>
internal sealed class GpuEventSet : IGpuEventSet
{
    private const string WaitCall = "nvmlEventSetWait_v2";

    private readonly NvmlClient _owner;
    private readonly NvmlEventSetHandle _handle;
    private readonly Dictionary<nint, string> _uuids;
    private int _waiting;

    internal GpuEventSet(NvmlClient owner, NvmlEventSetHandle handle, Dictionary<nint, string> uuids)
    {
        _owner = owner;
        _handle = handle;
        _uuids = uuids;
    }

    /// <summary>The UUIDs of the devices registered in this set (those that support at least one requested type).</summary>
    internal IReadOnlyCollection<string> RegisteredUuids => _uuids.Values;

    /// <summary>Whom an event belongs to: the MIG instance it names, where it names one the binding knows, else its GPU.</summary>
    private string Attribute(in NvmlEventData data)
        => data.GpuInstanceId != NvmlInterop.NoInstanceId
            ? _owner.FindUuid(data.Device, data.GpuInstanceId, data.ComputeInstanceId) ?? string.Empty
            : _uuids.TryGetValue(data.Device, out var uuid) ? uuid : _owner.FindUuid(data.Device) ?? string.Empty;

    /// <summary>Whether a thread is inside <see cref="Wait"/> now (the set is freed only after it returns).</summary>
    internal bool Waiting => Volatile.Read(ref _waiting) > 0;

    public unsafe NvmlResult<GpuEvent?> Wait(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            return NvmlResult<GpuEvent?>.Fail(new NvmlError(
                NvmlReturn.InvalidArgument,
                $"The wait timeout {timeout} is negative; use a positive value or Timeout.InfiniteTimeSpan.",
                WaitCall));
        }

        var milliseconds = timeout == Timeout.InfiniteTimeSpan
            ? uint.MaxValue
            : (uint)Math.Min(Math.Ceiling(timeout.TotalMilliseconds), uint.MaxValue - 1);

        var added = false;
        Interlocked.Increment(ref _waiting);
        try
        {
            if (_owner.IsDisposed || _handle.IsClosed)
            {
                return NvmlResult<GpuEvent?>.Fail(Disposed());
            }

            _handle.DangerousAddRef(ref added);
            NvmlEventData data = default;
            var code = NvmlInterop.EventSetWait(_handle.DangerousGetHandle(), &data, milliseconds);
            return code switch
            {
                NvmlReturn.Success => NvmlResult<GpuEvent?>.Ok(new GpuEvent(
                    Attribute(data),
                    (GpuEventTypes)data.EventType,
                    data.EventData)),
                NvmlReturn.Timeout => NvmlResult<GpuEvent?>.Ok(null),
                _ => NvmlErrors.Fail<GpuEvent?>(code, WaitCall),
            };
        }
        catch (ObjectDisposedException)
        {
            return NvmlResult<GpuEvent?>.Fail(Disposed());
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }

            Interlocked.Decrement(ref _waiting);
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        _owner.Forget(this);
    }

    private static NvmlError Disposed() =>
        new(NvmlReturn.InvalidState, "The event set was disposed.", WaitCall);
}
