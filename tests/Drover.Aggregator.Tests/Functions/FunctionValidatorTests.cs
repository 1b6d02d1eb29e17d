using Drover.Aggregator.Configuration;
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
        ["margin"] = Valid() with { Margin = -1 },
        ["minInstances"] = Valid() with { MinInstances = -1 },
        ["maxInstances"] = Valid() with { MaxInstances = 0 },
        ["gpuMemoryBytes"] = Valid() with { GpuMemoryBytes = -1 },
        ["scaleDownWindowSeconds"] = Valid() with { ScaleDownWindowSeconds = 86_401 },
        ["gpu"] = Valid() with { Gpu = "mig:1g 10gb" },
        ["colocateWith.service"] = Valid() with { ColocateWith = new ColocationDefinition { Service = "DB" } },
        ["colocateWith.scope"] = Valid() with { ColocateWith = new ColocationDefinition { Service = "db", Scope = "rack" } },
        ["dbShard"] = Valid() with { DbShard = "shard 1" },
    };

    private static FunctionDefinition Autoscaled() => Valid() with { Slo = 2, Margin = 1, MinInstances = 1, MaxInstances = 4 };

    [Fact]
    public void WithDefaults_MaxInstancesWithoutPlacement_Autoscales()
    {
        Assert.Equal("autoscale", Autoscaled().WithDefaults().Placement);
        Assert.True(Autoscaled().Autoscaled);
        Assert.Null(FunctionValidator.Validate(Autoscaled()));
    }

    [Fact]
    public void WithDefaults_NoPlacementNoMaxInstances_IsEveryNode()
    {
        Assert.Equal("every-node", Valid().WithDefaults().Placement);
        Assert.False(Valid().Autoscaled);
    }

    [Fact]
    public void WithDefaults_PlacementGiven_IsKept()
        => Assert.Equal("every-node", (Autoscaled() with { Placement = "every-node" }).WithDefaults().Placement);

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(1000, 10_000, 10_000)]
    [InlineData(0, 0, 0)]
    public void Validate_ScalingBounds_AreAccepted(int margin, int min, int window)
        => Assert.Null(FunctionValidator.Validate(Autoscaled() with { Margin = margin, MinInstances = min, MaxInstances = Math.Max(min, 1), ScaleDownWindowSeconds = window }));

    [Theory]
    [InlineData(1001, 1, 4, 60, "margin")]
    [InlineData(0, 10_001, 4, 60, "minInstances")]
    [InlineData(0, 1, 10_001, 60, "maxInstances")]
    [InlineData(0, 5, 4, 60, "minInstances")]
    [InlineData(0, 1, 4, -1, "scaleDownWindowSeconds")]
    public void Validate_ScalingOutOfBounds_IsNamed(int margin, int min, int max, int window, string field)
        => Assert.Equal(field, FunctionValidator.Validate(Autoscaled() with { Margin = margin, MinInstances = min, MaxInstances = max, ScaleDownWindowSeconds = window })!.Value.Field);

    [Fact]
    public void Validate_AutoscaleWithoutMaxInstances_NamesMaxInstances()
    {
        var error = FunctionValidator.Validate(Valid() with { Placement = "autoscale" });
        Assert.Equal("maxInstances", error!.Value.Field);
        Assert.Contains("autoscale", error.Value.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EveryNodeWithMaxInstances_IsRefusedRatherThanIgnored()
    {
        var error = FunctionValidator.Validate(Valid() with { Placement = "every-node", MaxInstances = 4 });

        Assert.Equal("maxInstances", error?.Field);
        Assert.Contains("applies to placement 'autoscale'", error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gpu_NotGiven_IsAny() => Assert.Equal("any", Valid().Gpu);

    [Theory]
    [InlineData("any")]
    [InlineData("whole")]
    [InlineData("mig")]
    [InlineData("mig:1g.10gb")]
    [InlineData("mig:1g.10gb+me")]
    public void Validate_AutoscaledGpu_IsAccepted(string gpu)
        => Assert.Null(FunctionValidator.Validate(Autoscaled() with { Gpu = gpu }));

    [Theory]
    [InlineData("")]
    [InlineData("Whole")]
    [InlineData("mig:")]
    [InlineData("mig:1g/10gb")]
    [InlineData("mig:ppppppppppppppppppppppppppppppppp")]
    [InlineData("a100")]
    public void Validate_BadGpu_400NamingGpuWithTheAcceptedForms(string gpu)
    {
        var error = FunctionValidator.Validate(Autoscaled() with { Gpu = gpu });

        Assert.Equal("gpu", error?.Field);
        Assert.StartsWith($"gpu = '{gpu}': expected 'any' (a whole GPU or a MIG instance), 'whole' (whole GPUs only), 'mig' (any MIG instance) or 'mig:<profile>'", error?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("whole")]
    [InlineData("mig")]
    [InlineData("mig:1g.10gb")]
    public void Validate_EveryNodeWithAGpuRequest_IsRefusedRatherThanIgnored(string gpu)
    {
        var error = FunctionValidator.Validate(Valid() with { Placement = "every-node", Gpu = gpu });

        Assert.Equal("gpu", error?.Field);
        Assert.Contains($"gpu = '{gpu}': applies to placement 'autoscale'", error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EveryNodeWithGpuAny_IsAccepted()
        => Assert.Null(FunctionValidator.Validate(Valid() with { Placement = "every-node", Gpu = "any" }));

    [Fact]
    public void Registry_DefinitionStoredBeforeGpu_LoadsAsAnyAndAGpuIsKept()
    {
        var directory = Directory.CreateTempSubdirectory("drover-functions-");
        try
        {
            var options = new AggregatorOptions { DataDirectory = directory.FullName };
            File.WriteAllText(
                Path.Combine(directory.FullName, "functions.json"),
                "[{\"name\": \"old\", \"version\": \"1\", \"runtime\": {\"type\": \"process\", \"command\": \"/bin/true\"}, \"placement\": \"autoscale\", \"maxInstances\": 2}]");

            var registry = new FunctionRegistry(options);
            Assert.Equal("any", registry.Find("old")!.Gpu);
            Assert.Null(FunctionValidator.Validate(registry.Find("old")!));

            registry.Put(Autoscaled() with { Name = "new", Gpu = "mig:1g.10gb" });
            Assert.Equal("mig:1g.10gb", new FunctionRegistry(options).Find("new")!.Gpu);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Validate_StdioWithHealthPath_IsRefused()
        => Assert.Equal("healthPath", FunctionValidator.Validate(Valid() with { ShimMode = "stdio", HealthPath = "/healthz" })!.Value.Field);

    public static TheoryData<string> BadFields => new(Bad.Keys);

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Validate_BadField_IsNamed(string field)
        => Assert.Equal(field, FunctionValidator.Validate(Bad[field])!.Value.Field);
}
