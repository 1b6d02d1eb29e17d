using Drover.Aggregator.Balancers;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Services;
using Drover.Aggregator.Tests.Fleet;
using Drover.Aggregator.Tests.State;
using Drover.Decisions.Balancing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Balancers;

/// <summary>
/// The coordinator's pass on real registries and tables, with a container balancer in memory: what it acquires, what it
/// provides to each side, what it keeps, and that a balancer that fails or refuses leaves Drover's tables as they were.
/// </summary>
public sealed class LoadBalancingCoordinatorTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("drover-lb-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly AggregatorOptions _options;
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly FunctionRegistry _functions;
    private readonly BalancerRegistry _balancers;
    private readonly ServiceRegistry _services;
    private readonly DecisionLog _decisions = new();
    private readonly GatewayWeights _weights = new();
    private readonly RecordingMemoryStore _store = new();
    private readonly FakeBalancer _haproxy = new();

    public LoadBalancingCoordinatorTests()
    {
        _options = new AggregatorOptions { DataDirectory = _data.FullName };
        _nodes = new NodeTable(_time);
        _instances = new InstanceTable(_time);
        _functions = new FunctionRegistry(_options);
        _balancers = new BalancerRegistry(_options);
        _services = new ServiceRegistry(_options);
        Assert.True(_nodes.Register(NodeTableTests.Node("node-a", 1), Guid.NewGuid()).Accepted);
        Assert.True(_nodes.Register(NodeTableTests.Node("node-b", 2), Guid.NewGuid()).Accepted);
        _functions.Put(new FunctionDefinition { Name = "f", ColocateWith = new ColocationDefinition { Service = "db" } });
        _balancers.Put(new BalancerRegistration
        {
            Name = "db-lb",
            Kind = BalancerRegistration.Haproxy,
            RuntimeApi = "unix:/run/haproxy.sock",
            Backend = "be_db",
            Service = "db",
            Servers = new Dictionary<string, BalancerServerPlacement>
            {
                ["db1"] = new() { Node = "node-a" },
                ["db2"] = new() { Node = "node-b" },
            },
        });
        _instances.Assign("f-1", "f", "node-a");
        _instances.Assign("f-2", "f", "node-b");
        _haproxy.Servers = [new("db1", 5, LbEntryState.Ready), new("db2", 1, LbEntryState.Ready)];
    }

    public void Dispose() => _data.Delete(recursive: true);

    private LoadBalancingCoordinator Coordinator() => new(
        _balancers, _functions, _services, _nodes, _instances, _decisions, _weights, _options, _time,
        NullLogger<LoadBalancingCoordinator>.Instance, _store, _ => _haproxy);

    private static LbEntry[] Entries(LoadBalancingCoordinator coordinator, LbSide side, string name)
        => [.. coordinator.View.Tables[LoadBalancingCoordinator.Key(side, name)].Table.Entries];

    [Fact]
    public async Task FirstPass_ServiceLeads_FunctionTakesTheServersWeights_GatewayWeighsTheNodes()
    {
        var coordinator = Coordinator();

        await coordinator.PassAsync(CancellationToken.None);

        Assert.Equal([new LbEntry("f-1", 5, LbEntryState.Ready), new LbEntry("f-2", 1, LbEntryState.Ready)], Entries(coordinator, LbSide.Function, "f"));
        Assert.Empty(_haproxy.Applied);
        Assert.Equal(5, _weights.Current["f"]["node-a"]);
        Assert.Equal(1, _weights.Current["f"]["node-b"]);
        var association = Assert.Single(coordinator.View.Associations);
        Assert.Equal([new LbPair("db1", "f-1"), new LbPair("db2", "f-2")], association.Pairs);
        Assert.Null(association.NotCoordinated);
        var decision = Assert.Single(_decisions.For("f"));
        Assert.Equal("balancing", decision.Kind);
        Assert.Contains("'f-1'", decision.Reason, StringComparison.Ordinal);
        Assert.NotEmpty(_store.BalancingSaves);
    }

    [Fact]
    public async Task WeightChangedInTheBalancer_FunctionFollows_OneVersionMore()
    {
        var coordinator = Coordinator();
        await coordinator.PassAsync(CancellationToken.None);
        var version = coordinator.View.Tables["function/f"].Table.Version;

        _haproxy.Servers[0] = _haproxy.Servers[0] with { Weight = 10 };
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Equal(new LbEntry("f-1", 10, LbEntryState.Ready), Entries(coordinator, LbSide.Function, "f")[0]);
        Assert.Equal(version + 1, coordinator.View.Tables["function/f"].Table.Version);
        Assert.Equal(10, _weights.Current["f"]["node-a"]);

        // Nothing changed since: no new version, no save.
        var saves = _store.BalancingSaves.Count;
        await coordinator.PassAsync(CancellationToken.None);
        Assert.Equal(version + 1, coordinator.View.Tables["function/f"].Table.Version);
        Assert.Equal(saves, _store.BalancingSaves.Count);
    }

    [Fact]
    public async Task FunctionInstanceRemoved_ItsContainerGoesToMaintenanceInTheBalancer_AndBackWhenAnInstanceReturns()
    {
        var coordinator = Coordinator();
        await coordinator.PassAsync(CancellationToken.None);

        _instances.Remove("f-2", deleteState: false);
        await coordinator.PassAsync(CancellationToken.None);

        var (from, to) = Assert.Single(_haproxy.Applied);
        Assert.Equal(new LbEntry("db2", 1, LbEntryState.Ready), from);
        Assert.Equal(new LbEntry("db2", 1, LbEntryState.Maint), to);
        Assert.Equal(LbEntryState.Maint, Entries(coordinator, LbSide.Service, "db")[1].State);
        Assert.False(_weights.Current["f"].ContainsKey("node-b"));

        _haproxy.Applied.Clear();
        _instances.Assign("f-3", "f", "node-b");
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Equal(new LbEntry("db2", 1, LbEntryState.Ready), Assert.Single(_haproxy.Applied).To);
        Assert.Equal(1, _weights.Current["f"]["node-b"]);
    }

    [Fact]
    public async Task BalancerUnreadable_TablesHeldAsTheyWere_StatusFailing_ThenBack()
    {
        var coordinator = Coordinator();
        await coordinator.PassAsync(CancellationToken.None);
        var before = coordinator.View.Tables;

        _haproxy.ReadError = "HAProxy backend 'be_db' at unix:/run/haproxy.sock: connection refused";
        _haproxy.Servers[0] = _haproxy.Servers[0] with { Weight = 77 };
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Equal(before["function/f"].Table, coordinator.View.Tables["function/f"].Table);
        Assert.Equal(before["service/db"].Table, coordinator.View.Tables["service/db"].Table);
        Assert.Contains(_haproxy.ReadError, coordinator.View.Tables["service/db"].Problems);
        var status = coordinator.View.Balancers["db-lb"];
        Assert.Equal(_haproxy.ReadError, status.Error);
        Assert.NotNull(status.LastReadAt);
        Assert.Equal("waiting for its balancer to be read", Assert.Single(coordinator.View.Associations).NotCoordinated);

        _haproxy.ReadError = null;
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Null(coordinator.View.Balancers["db-lb"].Error);
        Assert.Equal(77, Entries(coordinator, LbSide.Function, "f")[0].Weight);
        Assert.Empty(coordinator.View.Tables["service/db"].Problems);
    }

    [Fact]
    public async Task BalancerRefusesTheWrite_NothingOfTheAssociationChanges_TheWriteIsTriedAgain()
    {
        var coordinator = Coordinator();
        await coordinator.PassAsync(CancellationToken.None);
        var memory = _store.BalancingSaves[^1].Memories["f|db"];

        _haproxy.ApplyError = "HAProxy backend 'be_db': No such server.";
        _instances.Remove("f-2", deleteState: false);
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Equal(LbEntryState.Ready, Entries(coordinator, LbSide.Service, "db")[1].State);
        Assert.Contains(coordinator.View.Tables["service/db"].Problems, p => p.Contains("No such server.", StringComparison.Ordinal));
        Assert.Same(memory, _store.BalancingSaves[^1].Memories["f|db"]);

        _haproxy.ApplyError = null;
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Equal(LbEntryState.Maint, _haproxy.Servers[1].State);
        Assert.Equal(LbEntryState.Maint, Entries(coordinator, LbSide.Service, "db")[1].State);
    }

    [Fact]
    public async Task TwoInstancesOnOneContainersNode_Conflict_ReportedOnceAndInBothTables()
    {
        var coordinator = Coordinator();
        _instances.Assign("f-9", "f", "node-a");

        await coordinator.PassAsync(CancellationToken.None);
        await coordinator.PassAsync(CancellationToken.None);

        var conflict = Assert.Single(_decisions.For("f"), d => d.Kind == "balancing-conflict");
        Assert.Contains("db1", conflict.Reason, StringComparison.Ordinal);
        Assert.Contains(conflict.Reason, coordinator.View.Tables["function/f"].Problems);
        Assert.Contains(conflict.Reason, coordinator.View.Tables["service/db"].Problems);

        // db2 and f-2 are still paired and coordinated; db1's entries are left as they were.
        Assert.Equal([new LbPair("db2", "f-2")], Assert.Single(coordinator.View.Associations).Pairs);
        Assert.Equal(new LbEntry("f-1", 1, LbEntryState.Ready), Entries(coordinator, LbSide.Function, "f")[0]);
    }

    [Fact]
    public async Task Restarted_FromTheStoredMemory_NothingChangesAndNothingIsWritten()
    {
        await Coordinator().PassAsync(CancellationToken.None);
        var decisions = _decisions.All.Count;
        var saves = _store.BalancingSaves.Count;

        var restarted = Coordinator();
        await restarted.PassAsync(CancellationToken.None);

        Assert.Equal(decisions, _decisions.All.Count);
        Assert.Equal(saves, _store.BalancingSaves.Count);
        Assert.Empty(_haproxy.Applied);
        Assert.Equal(5, _weights.Current["f"]["node-a"]);
    }

    [Fact]
    public async Task ServiceNamedByNothing_FunctionTableSaysWhy_NoWeights()
    {
        _functions.Put(new FunctionDefinition { Name = "f", ColocateWith = new ColocationDefinition { Service = "nowhere" } });
        var coordinator = Coordinator();

        await coordinator.PassAsync(CancellationToken.None);

        Assert.Contains(coordinator.View.Tables["function/f"].Problems, p => p.Contains("'nowhere'", StringComparison.Ordinal));
        Assert.Empty(coordinator.View.Associations);
        Assert.False(_weights.Current.ContainsKey("f"));
    }

    [Fact]
    public async Task DroverServiceAsTheContainers_ByShard_BothWeighedOnTheGateway_NothingWrittenToABalancer()
    {
        _services.Put(new ServiceDefinition { Name = "cache", DbShard = "s1", Runtime = new ProcessRuntimeDefinition { Command = "/bin/cache" } });
        _functions.Put(new FunctionDefinition { Name = "g", DbShard = "s1" });
        _instances.Assign("cache-1", Workloads.WorkloadKeys.ServiceSet("cache", "1"), "node-a");
        _instances.Assign("g-1", "g", "node-b");
        var coordinator = Coordinator();

        await coordinator.PassAsync(CancellationToken.None);

        var association = Assert.Single(coordinator.View.Associations, a => a.Function == "g");
        Assert.Equal(("cache", "dbShard"), (association.Service, association.Scope));
        Assert.Equal([new LbPair("cache-1", "g-1")], association.Pairs);
        Assert.Equal(1, _weights.Current["g"]["node-b"]);
        Assert.Equal(1, _weights.Current["service/cache"]["node-a"]);
        Assert.Equal("least-in-flight", coordinator.View.Tables["function/g"].Table.Policy);
    }

    [Fact]
    public async Task TwoFunctionsWithOneContainer_OneScalesDown_TheContainerStaysInService()
    {
        _functions.Put(new FunctionDefinition { Name = "g", ColocateWith = new ColocationDefinition { Service = "db" } });
        _instances.Assign("g-1", "g", "node-b");
        var coordinator = Coordinator();
        await coordinator.PassAsync(CancellationToken.None);

        _instances.Remove("f-2", deleteState: false);
        await coordinator.PassAsync(CancellationToken.None);

        Assert.Empty(_haproxy.Applied);
        Assert.Equal(LbEntryState.Ready, _haproxy.Servers[1].State);
        Assert.Equal(1, _weights.Current["g"]["node-b"]);
    }

    [Fact]
    public async Task FunctionWithTwoServices_ConflictInBothTables_NeitherCoordinated()
    {
        _services.Put(new ServiceDefinition { Name = "cache", DbShard = "s1", Runtime = new ProcessRuntimeDefinition { Command = "/bin/cache" } });
        _instances.Assign("cache-1", Workloads.WorkloadKeys.ServiceSet("cache", "1"), "node-a");
        _functions.Put(new FunctionDefinition { Name = "f", ColocateWith = new ColocationDefinition { Service = "db" }, DbShard = "s1" });
        var coordinator = Coordinator();

        await coordinator.PassAsync(CancellationToken.None);

        Assert.All(coordinator.View.Associations, a => Assert.Contains("more than one service", a.NotCoordinated, StringComparison.Ordinal));
        Assert.Equal(2, coordinator.View.Associations.Count);
        Assert.Contains(coordinator.View.Tables["function/f"].Problems, p => p.Contains("more than one service", StringComparison.Ordinal));
        Assert.Equal([new LbEntry("f-1", 1, LbEntryState.Ready), new LbEntry("f-2", 1, LbEntryState.Ready)], Entries(coordinator, LbSide.Function, "f"));
        Assert.Equal(2, _decisions.For("f").Count(d => d.Kind == "balancing-conflict"));
    }

    /// <summary>A container balancer in memory: its servers, what it was told, and failures on demand.</summary>
    private sealed class FakeBalancer : IContainerBalancer
    {
        public List<LbEntry> Servers { get; set; } = [];

        public List<(LbEntry From, LbEntry To)> Applied { get; } = [];

        public string? ReadError { get; set; }

        public string? ApplyError { get; set; }

        public string Description => "fake";

        public Task<IReadOnlyList<ContainerServer>> ReadAsync(CancellationToken cancellationToken)
            => ReadError is { } error
                ? Task.FromException<IReadOnlyList<ContainerServer>>(new ContainerBalancerException(error))
                : Task.FromResult<IReadOnlyList<ContainerServer>>(Servers.Select(s => new ContainerServer(s, "10.0.0.9")).ToArray());

        public Task ApplyAsync(IReadOnlyList<(LbEntry From, LbEntry To)> changes, CancellationToken cancellationToken)
        {
            if (ApplyError is { } error)
            {
                return Task.FromException(new ContainerBalancerException(error));
            }

            foreach (var change in changes)
            {
                Applied.Add(change);
                Servers[Servers.FindIndex(s => s.Id == change.To.Id)] = change.To;
            }

            return Task.CompletedTask;
        }
    }
}
