using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;

namespace Drover.Aggregator.Tests.Services;

public class ServiceValidatorTests
{
    private static ServiceDefinition Valid() => new()
    {
        Name = "web",
        Runtime = new ProcessRuntimeDefinition { Command = "/opt/web/web" },
        InstanceCount = 3,
        RoutingField = new RoutingFieldDefinition { Header = "X-User" },
    };

    [Fact]
    public void Validate_Good_IsAccepted() => Assert.Null(ServiceValidator.Validate(Valid()));

    [Fact]
    public void Validate_JsonFieldRouting_IsAccepted()
        => Assert.Null(ServiceValidator.Validate(Valid() with { RoutingField = new RoutingFieldDefinition { JsonField = "tenant" } }));

    private static readonly Dictionary<string, ServiceDefinition> Bad = new()
    {
        ["name"] = Valid() with { Name = "-web" },
        ["dbShard"] = Valid() with { DbShard = "s/1" },
        ["version"] = Valid() with { Version = "1/2" },
        ["runtime.command"] = Valid() with { Runtime = new ProcessRuntimeDefinition() },
        ["instanceCount"] = Valid() with { InstanceCount = 0 },
        ["routingField"] = Valid() with { RoutingField = new RoutingFieldDefinition { Header = "X-User", JsonField = "user" } },
        ["routingField.header"] = Valid() with { RoutingField = new RoutingFieldDefinition { Header = "X User" } },
        ["policy"] = Valid() with { Policy = "round-robin" },
        ["drainTimeoutMs"] = Valid() with { DrainTimeoutMs = -5 },
        ["slo"] = Valid() with { Slo = 10_001 },
    };

    public static TheoryData<string> BadFields => new(Bad.Keys);

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Validate_BadField_IsNamed(string field)
        => Assert.Equal(field, ServiceValidator.Validate(Bad[field])!.Value.Field);
}
