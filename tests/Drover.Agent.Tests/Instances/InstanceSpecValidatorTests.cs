using Drover.Agent.Instances;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Instances;

public class InstanceSpecValidatorTests
{
    private static InstanceSpec Valid() => new()
    {
        InstanceId = "counter-1",
        Function = "counter",
        Version = "1",
        Process = new ProcessRuntime { Command = "/usr/bin/env" },
    };

    [Fact]
    public void Validate_GoodSpec_IsAccepted() => Assert.Null(InstanceSpecValidator.Validate(Valid()));

    [Fact]
    public void Validate_FullShimSpec_IsAccepted()
    {
        var spec = Valid();
        spec.Kind = WorkloadKind.Service;
        spec.Shim = new ShimSpec
        {
            Mode = ShimMode.Stdio,
            Concurrency = 10_000,
            QueueLength = 100_000,
            Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            EventHeaders = { "X-Tenant", "traceparent" },
            HealthPath = "/healthz?deep=1",
        };

        Assert.Null(InstanceSpecValidator.Validate(spec));
    }

    public static TheoryData<string, Action<InstanceSpec>> BadSpecs => new()
    {
        { "'..'", s => s.InstanceId = "../../etc" },
        { "function", s => s.Function = "Counter" },
        { "process.command", s => s.Process.Command = "" },
        { "process.command", s => s.Process = null },
        { "process.args", s => s.Process.Args.Add(Enumerable.Repeat("a", 257)) },
        { "set by the agent", s => s.Process.Env["DROVER_STATE_DIR"] = "/tmp" },
        { "set by the agent", s => s.Process.Env["PORT"] = "1" },
        { "not an acceptable variable", s => s.Process.Env["1BAD"] = "x" },
        { "workingDirectory", s => s.Process.WorkingDirectory = "relative/dir" },
        { "gpuUuids", s => s.GpuUuids.Add("GPU-1,GPU-2") },
        { "kind", s => s.Kind = (WorkloadKind)9 },
        { "shim.mode", s => s.Shim = new ShimSpec { Mode = (ShimMode)7 } },
        { "shim.concurrency", s => s.Shim = new ShimSpec { Concurrency = 10_001 } },
        { "shim.queueLength", s => s.Shim = new ShimSpec { QueueLength = 100_001 } },
        { "shim.timeout", s => s.Shim = new ShimSpec { Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromHours(2)) } },
        { "shim.timeout", s => s.Shim = new ShimSpec { Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(-1)) } },
        { "shim.eventHeaders", s => s.Shim = new ShimSpec { EventHeaders = { "X Bad" } } },
        { "shim.eventHeaders", s => s.Shim = new ShimSpec { EventHeaders = { Enumerable.Range(0, 33).Select(i => $"X-H{i}") } } },
        { "shim.healthPath", s => s.Shim = new ShimSpec { HealthPath = "healthz" } },
        { "shim.healthPath", s => s.Shim = new ShimSpec { HealthPath = "/health z" } },
        { "negative", s => s.CommitInterval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(-1)) },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void Validate_BadField_IsNamed(string expected, Action<InstanceSpec> spoil)
    {
        var spec = Valid();
        spoil(spec);

        Assert.Contains(expected, InstanceSpecValidator.Validate(spec), StringComparison.Ordinal);
    }
}
