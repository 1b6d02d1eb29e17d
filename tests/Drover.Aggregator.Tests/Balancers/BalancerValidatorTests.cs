using Drover.Aggregator.Balancers;

namespace Drover.Aggregator.Tests.Balancers;

public class BalancerValidatorTests
{
    private static BalancerRegistration Valid() => new()
    {
        Name = "db",
        Kind = BalancerRegistration.Haproxy,
        RuntimeApi = "unix:/run/haproxy/admin.sock",
        Backend = "be_db",
        Service = "db",
        Servers = new Dictionary<string, BalancerServerPlacement> { ["db1"] = new() { Node = "node-a", Site = "paris", DbShard = "s1" } },
    };

    [Fact]
    public void Validate_Good_IsAccepted()
    {
        Assert.Null(BalancerValidator.Validate(Valid()));
        Assert.Null(BalancerValidator.Validate(Valid() with { RuntimeApi = "tcp:127.0.0.1:9999", Servers = new Dictionary<string, BalancerServerPlacement>() }));
    }

    private static readonly Dictionary<string, BalancerRegistration> Bad = new()
    {
        ["name"] = Valid() with { Name = "DB" },
        ["kind"] = Valid() with { Kind = "nginx" },
        ["runtimeApi"] = Valid() with { RuntimeApi = "http://127.0.0.1:9999" },
        ["backend"] = Valid() with { Backend = "be db" },
        ["service"] = Valid() with { Service = "" },
        ["policy"] = Valid() with { Policy = "round robin" },
        ["servers"] = Valid() with { Servers = new Dictionary<string, BalancerServerPlacement> { ["db1;show info"] = new() } },
        ["servers.db1.node"] = Valid() with { Servers = new Dictionary<string, BalancerServerPlacement> { ["db1"] = new() { Node = "node a" } } },
        ["servers.db1.site"] = Valid() with { Servers = new Dictionary<string, BalancerServerPlacement> { ["db1"] = new() { Site = new string('s', 64) } } },
        ["servers.db1.dbShard"] = Valid() with { Servers = new Dictionary<string, BalancerServerPlacement> { ["db1"] = new() { DbShard = "" } } },
    };

    public static TheoryData<string> BadFields => new(Bad.Keys);

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Validate_Bad_NamesTheField(string field)
    {
        var error = BalancerValidator.Validate(Bad[field]);

        Assert.NotNull(error);
        Assert.Equal(field, error.Value.Field);
    }

    [Fact]
    public void Validate_TooManyServers_Refused()
    {
        var servers = Enumerable.Range(0, BalancerValidator.MaxServers + 1).ToDictionary(i => $"s{i}", _ => new BalancerServerPlacement());

        Assert.Equal("servers", BalancerValidator.Validate(Valid() with { Servers = servers })?.Field);
    }
}
