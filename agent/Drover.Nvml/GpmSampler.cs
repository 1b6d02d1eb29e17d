using System.Buffers.Binary;
using Drover.Nvml.Interop;

namespace Drover.Nvml;

/// <summary>
/// One device's GPM state: whether the GPU offers GPM, the two samples the metrics are measured between (taken in
/// turn), and the <c>nvmlGpmMetricsGet_t</c> buffer. Not thread-safe: its device calls it under a lock. Samples belong
/// to one initialization of NVML (<see cref="NvmlClient.Epoch"/>): they are freed before NVML is shut down, and taken
/// afresh after the next initialization.
/// </summary>
internal sealed unsafe class GpmSampler
{
    private const string SampleCall = "nvmlGpmSampleGet";

    private readonly byte[] _metrics = new byte[NvmlGpm.MetricsGetBytes];
    private nint _previous;
    private nint _current;
    private bool _hasPrevious;
    private int _epoch = -1;
    private bool _supported;

    /// <summary>Takes a sample and measures the metrics since the previous one; null after the first sample of an initialization.</summary>
    /// <param name="device">The device measured.</param>
    /// <param name="handle">The handle GPM samples it through (<see cref="GpuDevice.GpmHandle"/>).</param>
    public NvmlResult<GpuActivity?> Measure(GpuDevice device, nint handle)
    {
        var epoch = device.Owner.Epoch;
        if (_epoch != epoch)
        {
            // A new initialization: the samples of the last one were freed (or went with it).
            (_previous, _current, _hasPrevious, _epoch) = (0, 0, false, epoch);
            var support = new NvmlGpmSupport { Version = NvmlGpm.SupportVersion };
            var code = NvmlGpm.QueryDeviceSupport(handle, &support);
            if (code != NvmlReturn.Success)
            {
                _epoch = -1; // asked again next time: a GPU not ready now may answer later
                return NvmlErrors.Fail<GpuActivity?>(code, "nvmlGpmQueryDeviceSupport");
            }

            _supported = support.IsSupportedDevice != 0;
        }

        if (!_supported)
        {
            return NvmlResult<GpuActivity?>.Fail(new NvmlError(NvmlReturn.NotSupported, "The GPU does not offer GPM (GPUs before Hopper).", "nvmlGpmQueryDeviceSupport"));
        }

        if (Allocate() is { } failed)
        {
            return NvmlErrors.Fail<GpuActivity?>(failed, "nvmlGpmSampleAlloc");
        }

        var taken = device.Mig is { } mig ? NvmlGpm.MigSampleGet(handle, mig.GpuInstanceId, _current) : NvmlGpm.SampleGet(handle, _current);
        if (taken != NvmlReturn.Success)
        {
            return NvmlErrors.Fail<GpuActivity?>(taken, device.Mig is null ? SampleCall : "nvmlGpmMigSampleGet");
        }

        (_previous, _current) = (_current, _previous);
        if (!_hasPrevious)
        {
            _hasPrevious = true;
            return NvmlResult<GpuActivity?>.Ok(null);
        }

        // _previous now holds the sample just taken, _current the one before: measured from the older to the newer.
        var buffer = _metrics.AsSpan();
        buffer.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, NvmlGpm.MetricsGetVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[4..], 3);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[8..], _current);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[16..], _previous);
        ReadOnlySpan<uint> ids = [NvmlGpm.GraphicsActivity, NvmlGpm.SmActivity, NvmlGpm.SmOccupancy];
        for (var i = 0; i < ids.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer[(NvmlGpm.MetricsOffset + (i * NvmlGpm.MetricBytes))..], ids[i]);
        }

        NvmlReturn measured;
        fixed (byte* metrics = _metrics)
        {
            measured = NvmlGpm.MetricsGet(metrics);
        }

        return measured == NvmlReturn.Success
            ? NvmlResult<GpuActivity?>.Ok(new GpuActivity(Metric(0), Metric(1), Metric(2)))
            : NvmlErrors.Fail<GpuActivity?>(measured, "nvmlGpmMetricsGet");
    }

    /// <summary>Frees the samples; the next <see cref="Measure"/> starts again from a first sample.</summary>
    public void Release()
    {
        foreach (var sample in new[] { _previous, _current })
        {
            if (sample != 0)
            {
                _ = NvmlGpm.SampleFree(sample);
            }
        }

        (_previous, _current, _hasPrevious, _epoch) = (0, 0, false, -1);
    }

    private NvmlReturn? Allocate()
    {
        if (_previous == 0 && Alloc(ref _previous) is { } first)
        {
            return first;
        }

        return _current == 0 ? Alloc(ref _current) : null;
    }

    private static NvmlReturn? Alloc(ref nint sample)
    {
        nint allocated = 0;
        var code = NvmlGpm.SampleAlloc(&allocated);
        if (code != NvmlReturn.Success)
        {
            return code;
        }

        sample = allocated;
        return null;
    }

    /// <summary>Metric <paramref name="index"/> of the last measurement: its value when NVML answered it, else null.</summary>
    private double? Metric(int index)
    {
        var entry = _metrics.AsSpan(NvmlGpm.MetricsOffset + (index * NvmlGpm.MetricBytes), NvmlGpm.MetricBytes);
        var answer = (NvmlReturn)BinaryPrimitives.ReadInt32LittleEndian(entry[4..]);
        var value = BinaryPrimitives.ReadDoubleLittleEndian(entry[8..]);
        return answer == NvmlReturn.Success && double.IsFinite(value) ? Math.Clamp(value, 0, 100) : null;
    }
}
