using System.Buffers.Binary;
using Drover.Agent.Configuration;
using Drover.Agent.Instances;
using Drover.Agent.Telemetry;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry;

/// <summary>
/// The agent's side of the probe on pages written here by hand (the layout of drover_probe_page.h), as a live process's
/// (this test's own pid and start time): the measured queue wins over instances' reports and the estimate, is held to
/// the GPUs its instance was given, ages out when its probe stops publishing, and a page of a process gone is dropped.
/// </summary>
public sealed class MeasuredGpuWorkTests : IDisposable
{
    private const string Gpu0 = "GPU-fa4e0000-0000-4000-8000-000000000000";
    private const string Gpu1 = "GPU-fa4e0000-0000-4000-8000-000000000001";

    private readonly FakeTimeProvider _time = new();
    private readonly string _root = Directory.CreateTempSubdirectory("drover-measured-").FullName;
    private readonly InMemoryNvml _nvml = new();
    private readonly List<ProbedInstance> _instances = [new("i1", LibC.EffectiveUserId, [])];
    private readonly MeasuredGpuWork _measured;

    public MeasuredGpuWorkTests()
    {
        _nvml.Gpus.Add(new InMemoryGpu(0) { Uuid = Gpu0 });
        _nvml.Gpus.Add(new InMemoryGpu(1) { Uuid = Gpu1 });
        _measured = new MeasuredGpuWork(new AgentOptions { GpuProbeDirectory = _root, GpuProbeStalenessMs = 2000 }, _time, NullLogger<MeasuredGpuWork>.Instance, () => _instances);
    }

    public void Dispose()
    {
        _measured.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private GpuTelemetry Create(ReportedGpuWork? reported = null)
        => new(_nvml, new GpuHealthBoard(_time, TimeSpan.FromMinutes(5)), reported ?? new ReportedGpuWork(_time, new AgentOptions()),
            new AgentOptions { ServerNumber = 1 }, _time, NullLogger<GpuTelemetry>.Instance, _measured);

    private static GpuSample Gpu(Protocol.V1.Telemetry telemetry, int index) => telemetry.Gpus.Single(g => g.Gpu.Index == index);

    [Fact]
    public void Sample_ProbePage_MeasuredWinsOverReported_OtherGpuEstimated()
    {
        var reported = new ReportedGpuWork(_time, new AgentOptions());
        reported.Report("i1", Gpu0, submitted: 10, completed: 9);
        WritePage("i1", Environment.ProcessId, publishes: 1, (Gpu0, 7));
        var telemetry = Create(reported);

        var sample = telemetry.Sample();

        Assert.Equal((7.0, CommandQueueSource.Measured, 0u), (Gpu(sample, 0).CommandQueueLength, Gpu(sample, 0).CommandQueueSource, Gpu(sample, 0).CommandQueueAgeMs));
        Assert.Equal(CommandQueueSource.Estimated, Gpu(sample, 1).CommandQueueSource);
    }

    [Fact]
    public void Refresh_TwoProcesses_AddedPerGpu()
    {
        WritePage("i1", Environment.ProcessId, publishes: 1, (Gpu0, 3), (Gpu1, 1));
        _instances.Add(new ProbedInstance("i2", LibC.EffectiveUserId, []));
        WritePage("i2", Environment.ProcessId, publishes: 1, (Gpu0, 2));

        _measured.Refresh([Gpu0, Gpu1]);

        Assert.True(_measured.TryGetQueueLength(Gpu0, out var gpu0, out _));
        Assert.True(_measured.TryGetQueueLength(Gpu1, out var gpu1, out _));
        Assert.Equal((5.0, 1.0), (gpu0, gpu1));
    }

    [Fact]
    public void Refresh_GpuNotGivenToTheInstance_DoesNotCount()
    {
        _instances[0] = new ProbedInstance("i1", LibC.EffectiveUserId, [Gpu1]);
        WritePage("i1", Environment.ProcessId, publishes: 1, (Gpu0, 9), (Gpu1, 2));

        _measured.Refresh([Gpu0, Gpu1]);

        Assert.False(_measured.TryGetQueueLength(Gpu0, out _, out _));
        Assert.True(_measured.TryGetQueueLength(Gpu1, out var length, out _));
        Assert.Equal(2.0, length);
    }

    [Fact]
    public void Refresh_NoPublicationForTheStaleness_AgesOutThenBack()
    {
        var path = WritePage("i1", Environment.ProcessId, publishes: 1, (Gpu0, 4));
        _measured.Refresh([Gpu0]);
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        _measured.Refresh([Gpu0]);
        Assert.True(_measured.TryGetQueueLength(Gpu0, out _, out var age));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), age);

        _time.Advance(TimeSpan.FromMilliseconds(501));
        _measured.Refresh([Gpu0]);
        Assert.False(_measured.TryGetQueueLength(Gpu0, out _, out _));

        Publish(path, publishes: 2);
        _measured.Refresh([Gpu0]);
        Assert.True(_measured.TryGetQueueLength(Gpu0, out var length, out _));
        Assert.Equal(4.0, length);
    }

    [Fact]
    public void Refresh_ProcessGone_PageDroppedAndDeleted()
    {
        // A pid no process has: above the kernel's largest (pid_max is at most 2^22).
        var path = WritePage("i1", (1 << 22) + 7, publishes: 1, (Gpu0, 6));

        _measured.Refresh([Gpu0]);

        Assert.False(_measured.TryGetQueueLength(Gpu0, out _, out _));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Refresh_HostileCount_HeldToTheBound()
    {
        WritePage("i1", Environment.ProcessId, publishes: 1, (Gpu0, ulong.MaxValue));

        _measured.Refresh([Gpu0]);

        Assert.True(_measured.TryGetQueueLength(Gpu0, out var length, out _));
        Assert.Equal((double)MeasuredGpuWork.MaxInFlightPerPage, length);
    }

    [Fact]
    public void Refresh_NotAProbePage_Ignored()
    {
        Directory.CreateDirectory(Path.Combine(_root, "i1"));
        File.WriteAllBytes(Path.Combine(_root, "i1", $"{Environment.ProcessId}.page"), new byte[100]);
        File.WriteAllBytes(Path.Combine(_root, "i1", "1.page"), new byte[GpuProbePage.FileBytes]); // zeros: no magic

        _measured.Refresh([Gpu0]);

        Assert.False(_measured.TryGetQueueLength(Gpu0, out _, out _));
    }

    /// <summary>A page as the probe writes it, for <paramref name="pid"/> with its real start time.</summary>
    private string WritePage(string instance, int pid, ulong publishes, params (string Uuid, ulong InFlight)[] devices)
    {
        var bytes = new byte[GpuProbePage.FileBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(GpuProbePage.MagicOffset), GpuProbePage.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(GpuProbePage.VersionOffset), GpuProbePage.Version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(GpuProbePage.PidOffset), pid);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(GpuProbePage.DeviceCountOffset), (uint)devices.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(GpuProbePage.PublishesOffset), publishes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(GpuProbePage.StartTimeOffset), (ulong)(ProcessInfo.StartTime(pid) ?? 1));
        for (var i = 0; i < devices.Length; i++)
        {
            var at = GpuProbePage.HeaderBytes + (i * GpuProbePage.DeviceBytes);
            Convert.FromHexString(devices[i].Uuid[4..].Replace("-", "", StringComparison.Ordinal)).CopyTo(bytes.AsSpan(at + GpuProbePage.UuidOffset));
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + GpuProbePage.SubmittedOffset), devices[i].InFlight);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + GpuProbePage.InFlightOffset), devices[i].InFlight);
        }

        var folder = Path.Combine(_root, instance);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{pid}.page");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>What the probe's poller does at every publication: the counter moves (in place: the agent has it mapped).</summary>
    private static void Publish(string path, ulong publishes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.Position = GpuProbePage.PublishesOffset;
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, publishes);
        file.Write(bytes);
    }
}
