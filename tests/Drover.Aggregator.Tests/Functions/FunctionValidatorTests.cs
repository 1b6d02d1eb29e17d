using Drover.Aggregator.Functions;

namespace Drover.Aggregator.Tests.Functions;

public class FunctionValidatorTests
{
    private static FunctionDefinition Valid() => new()
    {
        Name = "counter",
        Runtime = new ProcessRuntimeDefinition { Command = "/opt/counter/counter" },
    };

    [Fact]
    public void Validate_Good_IsAccepted() => Assert.Null(FunctionValidator.Validate(Valid()));

    private static readonly Dictionary<string, FunctionDefinition> Bad = new()
    {
        ["name"] = Valid() with { Name = "Counter" },
        ["version"] = Valid() with { Version = "" },
        ["runtime.type"] = Valid() with { Runtime = new ProcessRuntimeDefinition { Type = "container", Command = "x" } },
        ["runtime.command"] = Valid() with { Runtime = new ProcessRuntimeDefinition() },
        ["runtime.args"] = Valid() with { Runtime = new ProcessRuntimeDefinition { Command = "x", Args = Enumerable.Repeat("a", 257).ToArray() } },
        ["runtime.env"] = Valid() with { Runtime = new ProcessRuntimeDefinition { Command = "x", Env = new Dictionary<string, string> { ["DROVER_STATE_DIR"] = "/" } } },
        ["runtime.workingDirectory"] = Valid() with { Runtime = new ProcessRuntimeDefinition { Command = "x", WorkingDirectory = "rel" } },
        ["commitIntervalSeconds"] = Valid() with { CommitIntervalSeconds = -1 },
        ["placement"] = Valid() with { Placement = "somewhere" },
        ["shimMode"] = Valid() with { ShimMode = "grpc" },
        ["slo"] = Valid() with { Slo = 0 },
        ["queueLength"] = Valid() with { QueueLength = -1 },
        ["timeoutMs"] = Valid() with { TimeoutMs = 0 },
        ["eventHeaders"] = Valid() with { EventHeaders = ["X-Ok", "not a header"] },
        ["healthPath"] = Valid() with { HealthPath = "healthz" },
    };

    [Fact]
    public void Validate_StdioWithHealthPath_IsRefused()
        => Assert.Equal("healthPath", FunctionValidator.Validate(Valid() with { ShimMode = "stdio", HealthPath = "/healthz" })!.Value.Field);

    public static TheoryData<string> BadFields => new(Bad.Keys);

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Validate_BadField_IsNamed(string field)
        => Assert.Equal(field, FunctionValidator.Validate(Bad[field])!.Value.Field);
}
