using System.IO.MemoryMappedFiles;

namespace Drover.Agent.Telemetry;

/// <summary>
/// One process's page of the CUDA launch probe, mapped read-only: the layout of <c>native/include/drover_probe_page.h</c>
/// (offsets below, checked by a test against the C header's), read under its sequence lock. Reading is loads from
/// memory: no syscall. The page is written by an instance's process, so every number read is bounded by its reader.
/// </summary>
internal sealed class GpuProbePage : IDisposable
{
    /// <summary>"DVRPROBE", read as a little-endian 64-bit number.</summary>
    public const ulong Magic = 0x45424f5250525644UL;

    public const uint Version = 1;

    /// <summary>The file's size: the probe makes it exactly this (a page of another size is not the probe's).</summary>
    public const int FileBytes = 8192;

    public const int HeaderBytes = 64;
    public const int DeviceBytes = 128;
    public const int MaxDevices = 32;

    // Header offsets.
    public const int MagicOffset = 0;
    public const int VersionOffset = 8;
    public const int PidOffset = 24;
    public const int DeviceCountOffset = 28;
    public const int SequenceOffset = 32;
    public const int PublishesOffset = 40;
    public const int StartTimeOffset = 48;

    // Device record offsets.
    public const int UuidOffset = 0;
    public const int SubmittedOffset = 16;
    public const int CompletedOffset = 24;
    public const int InFlightOffset = 32;
    public const int OldestAgeOffset = 40;
    public const int AbandonedOffset = 48;
    public const int ResetsOffset = 56;
    public const int CaptureSkippedOffset = 64;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly unsafe byte* _base;

    private unsafe GpuProbePage(MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        _file = file;
        _view = view;
        // Held for the page's life: the sequence is read with acquire semantics through it.
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
    }

    /// <summary>Maps <paramref name="stream"/> (a regular file of <see cref="FileBytes"/>, opened by the caller); takes it over.</summary>
    public static GpuProbePage Map(FileStream stream)
    {
        var file = MemoryMappedFile.CreateFromFile(stream, null, FileBytes, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        try
        {
            return new GpuProbePage(file, file.CreateViewAccessor(0, FileBytes, MemoryMappedFileAccess.Read));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What the page says now, or null while it is not (yet) a probe's page of this version, or the writer kept it
    /// busy through every attempt (it then reads the next time).
    /// </summary>
    public GpuProbeSnapshot? Read()
    {
        if (_view.ReadUInt64(MagicOffset) != Magic || _view.ReadUInt32(VersionOffset) != Version)
        {
            return null;
        }

        for (var attempt = 0; attempt < 16; attempt++)
        {
            var before = Sequence();
            if ((before & 1) != 0)
            {
                Thread.SpinWait(32);
                continue;
            }

            Interlocked.MemoryBarrier();
            var count = Math.Min(_view.ReadUInt32(DeviceCountOffset), MaxDevices);
            var devices = new GpuProbeDevice[count];
            for (var i = 0; i < count; i++)
            {
                var at = HeaderBytes + (i * DeviceBytes);
                var uuid = new byte[16];
                _view.ReadArray(at + UuidOffset, uuid, 0, 16);
                devices[i] = new GpuProbeDevice(
                    uuid,
                    _view.ReadUInt64(at + SubmittedOffset),
                    _view.ReadUInt64(at + CompletedOffset),
                    _view.ReadUInt64(at + InFlightOffset),
                    _view.ReadUInt64(at + OldestAgeOffset),
                    _view.ReadUInt64(at + AbandonedOffset),
                    _view.ReadUInt64(at + ResetsOffset),
                    _view.ReadUInt64(at + CaptureSkippedOffset));
            }

            var snapshot = new GpuProbeSnapshot(_view.ReadInt32(PidOffset), (long)_view.ReadUInt64(StartTimeOffset), _view.ReadUInt64(PublishesOffset), devices);
            Interlocked.MemoryBarrier();
            if (Sequence() == before)
            {
                return snapshot;
            }
        }

        return null;
    }

    private unsafe ulong Sequence() => Volatile.Read(ref *(ulong*)(_base + SequenceOffset));

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}

/// <summary>One read of a page: its process (pid and start time, to tell it from a later one with the pid) and devices.</summary>
internal sealed record GpuProbeSnapshot(int Pid, long StartTime, ulong Publishes, IReadOnlyList<GpuProbeDevice> Devices);

/// <summary>
/// One device's counts in a page; <paramref name="Uuid"/> is cuDeviceGetUuid_v2's 16 bytes. <paramref name="Abandoned"/>
/// were in flight when their context was destroyed or failed (<paramref name="Resets"/> times); launches into a stream
/// being captured (<paramref name="CaptureSkipped"/>) are not submissions.
/// </summary>
internal sealed record GpuProbeDevice(byte[] Uuid, ulong Submitted, ulong Completed, ulong InFlight, ulong OldestAgeNs, ulong Abandoned, ulong Resets, ulong CaptureSkipped)
{
    /// <summary>The UUID as NVML prints it after its <c>GPU-</c> or <c>MIG-</c>: <c>xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx</c>.</summary>
    public string UuidTail
    {
        get
        {
            var hex = Convert.ToHexStringLower(Uuid);
            return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
        }
    }
}
