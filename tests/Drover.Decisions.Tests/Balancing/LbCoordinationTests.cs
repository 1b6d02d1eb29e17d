using Drover.Decisions.Balancing;
using static Drover.Decisions.Tests.Balancing.Lb;

namespace Drover.Decisions.Tests.Balancing;

public class LbCoordinationTests
{
    // One pair, container 'db1' with function instance 'i-1'. Settings are "weight state"; a null
    // "last" setting means the id is not in the memory (new).
    public static TheoryData<string, string?, string, string?, string, string, string> OnePair => new()
    {
        // name                                     container last/now          instance last/now          → container,   instance
        { "service weight moves the function",      "1 ready", "10 ready",      "1 ready", "1 ready",      "10 ready",    "10 ready" },
        { "function weight moves the service",      "1 ready", "1 ready",       "1 ready", "10 ready",     "10 ready",    "10 ready" },
        { "service to maint",                       "10 ready", "10 maint",     "10 ready", "10 ready",    "10 maint",    "10 maint" },
        { "service to drain",                       "10 ready", "10 drain",     "10 ready", "10 ready",    "10 drain",    "10 drain" },
        { "function to maint",                      "10 ready", "10 ready",     "10 ready", "10 maint",    "10 maint",    "10 maint" },
        { "function to drain",                      "10 ready", "10 ready",     "10 ready", "10 drain",    "10 drain",    "10 drain" },
        { "function back to ready",                 "10 maint", "10 maint",     "10 maint", "10 ready",    "10 ready",    "10 ready" },
        { "weight and state together",              "10 ready", "0 drain",      "10 ready", "10 ready",    "0 drain",     "0 drain" },
        { "both moved, differ: service leads",      "1 ready", "5 ready",       "1 ready", "7 maint",      "5 ready",     "5 ready" },
        { "both moved to the same setting",         "1 ready", "5 drain",       "1 ready", "5 drain",      "5 drain",     "5 drain" },
        { "neither moved but differ: service leads","5 ready", "5 ready",       "7 ready", "7 ready",      "5 ready",     "5 ready" },
        { "new instance joins at its container's",  "10 ready", "10 ready",     null, "1 ready",           "10 ready",    "10 ready" },
        { "new instance, operator's maint: kept",   "10 maint", "10 maint",     null, "1 ready",           "10 maint",    "10 maint" },
        { "new container leads",                    null, "20 ready",           "10 maint", "10 maint",    "20 ready",    "20 ready" },
        { "both new (first pass): service leads",   null, "3 ready",            null, "4 drain",           "3 ready",     "3 ready" },
        { "equal: nothing",                         "1 ready", "8 ready",       "1 ready", "8 ready",      "8 ready",     "8 ready" },
        { "weight 0 and 256 edges",                 "256 ready", "0 ready",     "256 ready", "256 ready",  "0 ready",     "0 ready" },
    };

    [Theory]
    [MemberData(nameof(OnePair))]
    public void Coordinate_OnePair_SideThatMovedLeads(
        string name, string? containerLast, string containerNow, string? instanceLast, string instanceNow, string containerExpected, string instanceExpected)
    {
        var service = ServiceTable(E("db1", containerNow));
        var function = FunctionTable(E("i-1", instanceNow));
        var memory = Remember(
            "roundrobin",
            "roundrobin",
            containerLast is null ? [] : [E("db1", containerLast)],
            instanceLast is null ? [] : [E("i-1", instanceLast)],
            containerLast is null || instanceLast is null ? [] : [("db1", "i-1")]);

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Equal(containerExpected, Setting(Assert.Single(result.Service.Entries)));
        Assert.Equal(instanceExpected, Setting(Assert.Single(result.Function.Entries)));
        Assert.Equal(containerExpected != containerNow, result.ServiceChanged);
        Assert.Equal(instanceExpected != instanceNow, result.FunctionChanged);
        Assert.Equal(result.ServiceChanged ? 2 : 1, result.Service.Version);
        Assert.Equal(result.FunctionChanged ? 2 : 1, result.Function.Version);
        Assert.Equal((result.ServiceChanged ? 1 : 0) + (result.FunctionChanged ? 1 : 0), result.Changes.Count);
        Assert.True(result.ServiceChanged ? !ReferenceEquals(service, result.Service) : ReferenceEquals(service, result.Service), name);
        Assert.True(result.FunctionChanged ? !ReferenceEquals(function, result.Function) : ReferenceEquals(function, result.Function), name);
    }

    [Fact]
    public void Coordinate_ServiceWeightMoved_SentenceNamesBothSides()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var function = FunctionTable(E("i-1", "1 ready"));
        var memory = Synced(ServiceTable(E("db1", "1 ready")), function, ("db1", "i-1"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Equal(["function 'f' instance 'i-1': weight 1 -> 10 (from service 'db' container 'db1')"], result.Changes);
    }

    [Fact]
    public void Coordinate_FunctionStateMoved_SentenceNamesBothSides()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var function = FunctionTable(E("i-1", "4 drain"));
        var memory = Synced(service, FunctionTable(E("i-1", "10 ready")), ("db1", "i-1"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Equal(["service 'db' container 'db1': weight 10 -> 4, state ready -> drain (from function 'f' instance 'i-1')"], result.Changes);
    }

    [Fact]
    public void Coordinate_FunctionInstanceRemoved_ContainerInMaintWeightKept()
    {
        // Scale down: i-2 left the function table; its container db2 stays, so it goes to maintenance.
        var before = FunctionTable(E("i-1", "10 ready"), E("i-2", "10 ready"));
        var service = ServiceTable(E("db1", "10 ready"), E("db2", "30 ready"));
        var function = FunctionTable(E("i-1", "10 ready"));
        var memory = Synced(ServiceTable(E("db1", "10 ready"), E("db2", "30 ready")), before, ("db1", "i-1"), ("db2", "i-2"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Equal(["10 ready", "30 maint"], result.Service.Entries.Select(Setting));
        Assert.True(result.ServiceChanged);
        Assert.False(result.FunctionChanged);
        Assert.Same(function, result.Function);
        Assert.Equal(["service 'db' container 'db2': state ready -> maint (its function 'f' instance 'i-2' was removed)"], result.Changes);
    }

    [Fact]
    public void Coordinate_ContainerRemoved_FunctionInstanceInMaint()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var function = FunctionTable(E("i-1", "10 ready"), E("i-2", "7 drain"));
        var memory = Synced(ServiceTable(E("db1", "10 ready"), E("db2", "7 drain")), function, ("db1", "i-1"), ("db2", "i-2"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Same(service, result.Service);
        Assert.Equal(["10 ready", "7 maint"], result.Function.Entries.Select(Setting));
        Assert.Equal(["function 'f' instance 'i-2': state drain -> maint (its service 'db' container 'db2' was removed)"], result.Changes);
    }

    [Fact]
    public void Coordinate_PartnerRemovedButSurvivorInCurrentPair_CurrentPairDecides()
    {
        // i-2 is gone, but db2 is now paired with the new i-3 (a replacement on its node): db2 stays in service and
        // i-3 joins at its setting.
        var service = ServiceTable(E("db2", "10 ready"));
        var function = FunctionTable(E("i-3", "20 ready"));
        var memory = Synced(service, FunctionTable(E("i-2", "10 ready")), ("db2", "i-2"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db2", "i-3")), memory);

        Assert.Same(service, result.Service);
        Assert.Equal(["10 ready"], result.Function.Entries.Select(Setting));
        Assert.Single(result.Changes);
    }

    [Fact]
    public void Coordinate_BothPartnersGone_NothingToDo()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var function = FunctionTable(E("i-1", "10 ready"));
        var memory = Synced(service, function, ("db1", "i-1"), ("db9", "i-9"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Same(service, result.Service);
        Assert.Same(function, result.Function);
        Assert.Empty(result.Changes);
    }

    [Fact]
    public void Coordinate_ScaleDownThenUp_ContainerGoesToMaintThenBackIntoServiceWithTheNewInstance()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var function = FunctionTable(E("i-1", "10 ready"));
        var first = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), LbCoordinationMemory.Empty);

        // Scale down: i-1 removed.
        var down = LbCoordination.Coordinate(first.Service, FunctionTable(), Pairing(), first.Memory);
        Assert.Equal(["10 maint"], down.Service.Entries.Select(Setting));

        // Nothing more happens while it stays down (the removal is acted on once).
        var still = LbCoordination.Coordinate(down.Service, down.Function, Pairing(), down.Memory);
        Assert.Same(down.Service, still.Service);
        Assert.Empty(still.Changes);

        Assert.Equal(["db1"], still.Memory.Retired!);

        // Scale up: i-2 arrives on db1's node with a new entry's default weight: db1 comes back into service at its
        // own weight, and i-2 joins at it.
        var up = LbCoordination.Coordinate(still.Service, FunctionTable(E("i-2", "1 ready")), Pairing(("db1", "i-2")), still.Memory);
        Assert.Equal(["10 ready"], up.Service.Entries.Select(Setting));
        Assert.Equal(["10 ready"], up.Function.Entries.Select(Setting));
        Assert.Empty(up.Memory.Retired!);
    }

    [Fact]
    public void Coordinate_InstanceMovesToARetiredContainersNode_BothBackInService()
    {
        // i-1 with db1, i-3 with db3; i-3 goes (db3 retired); then i-1 moves to db3's node, keeping its id.
        var service = ServiceTable(E("db1", "10 ready"), E("db3", "4 ready"));
        var first = LbCoordination.Coordinate(service, FunctionTable(E("i-1", "1 ready"), E("i-3", "1 ready")), Pairing(("db1", "i-1"), ("db3", "i-3")), LbCoordinationMemory.Empty);
        var down = LbCoordination.Coordinate(first.Service, FunctionTable(E("i-1", "10 ready")), Pairing(("db1", "i-1")), first.Memory);
        Assert.Equal(["10 ready", "4 maint"], down.Service.Entries.Select(Setting));

        var moved = LbCoordination.Coordinate(down.Service, down.Function, Pairing(("db3", "i-1")), down.Memory);

        Assert.Equal(["10 ready", "4 ready"], moved.Service.Entries.Select(Setting));
        Assert.Equal(["4 ready"], moved.Function.Entries.Select(Setting));
    }

    [Fact]
    public void Coordinate_InstanceRemoved_ContainerPairedElsewhere_NotRetired()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var first = LbCoordination.Coordinate(service, FunctionTable(E("i-1", "1 ready")), Pairing(("db1", "i-1")), LbCoordinationMemory.Empty);

        // i-1 is gone, but another function's instance still goes with db1.
        var down = LbCoordination.Coordinate(first.Service, FunctionTable(), Pairing(), first.Memory, new HashSet<string> { "db1" });

        Assert.Same(first.Service, down.Service);
        Assert.Empty(down.Changes);
        Assert.Empty(down.Memory.Retired!);
    }

    [Fact]
    public void Coordinate_ContainerInMaintByTheOperator_NotRetired_NewInstanceStaysOutToo()
    {
        var service = ServiceTable(E("db1", "10 ready"));
        var first = LbCoordination.Coordinate(service, FunctionTable(), Pairing(), LbCoordinationMemory.Empty);

        // The operator takes db1 out; then an instance arrives on its node.
        var down = LbCoordination.Coordinate(ServiceTable(E("db1", "10 maint")), first.Function, Pairing(), first.Memory);
        var up = LbCoordination.Coordinate(down.Service, FunctionTable(E("i-1", "1 ready")), Pairing(("db1", "i-1")), down.Memory);

        Assert.Equal(["10 maint"], up.Service.Entries.Select(Setting));
        Assert.Equal(["10 maint"], up.Function.Entries.Select(Setting));
    }

    [Fact]
    public void Coordinate_UnpairedEntriesMoved_LeftExactlyAsTheyWere()
    {
        // db9 and i-9 have no pair and moved since the memory (and differ from each other): neither is touched.
        var service = ServiceTable(E("db9", "99 drain"), E("db1", "10 ready"));
        var function = FunctionTable(E("i-1", "3 ready"), E("i-9", "0 maint"));
        var memory = Synced(ServiceTable(E("db9", "1 ready"), E("db1", "10 ready")), FunctionTable(E("i-1", "10 ready"), E("i-9", "5 ready")), ("db1", "i-1"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), memory);

        Assert.Same(service.Entries[0], result.Service.Entries[0]);
        Assert.Equal(E("db1", "3 ready"), result.Service.Entries[1]);
        Assert.Same(function, result.Function);
        Assert.Equal(["db9", "db1"], result.Service.Entries.Select(e => e.Id));
        Assert.Equal(E("db9", "99 drain"), result.Memory.ServiceEntries["db9"]);
        Assert.Equal(E("i-9", "0 maint"), result.Memory.FunctionEntries["i-9"]);
    }

    [Fact]
    public void Coordinate_ManyPairs_KeepOrderAndCountAndVersionGrowsByOne()
    {
        var service = ServiceTable(E("db3", "1 ready"), E("db1", "1 ready"), E("db2", "1 ready")) with { Version = 41 };
        var function = FunctionTable(E("i-2", "2 ready"), E("i-3", "3 ready"), E("i-1", "1 ready")) with { Version = 7 };
        var memory = Synced(service, FunctionTable(E("i-2", "1 ready"), E("i-3", "1 ready"), E("i-1", "1 ready")), ("db1", "i-1"), ("db2", "i-2"), ("db3", "i-3"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1"), ("db2", "i-2"), ("db3", "i-3")), memory);

        Assert.Equal(["db3 3 ready", "db1 1 ready", "db2 2 ready"], result.Service.Entries.Select(e => $"{e.Id} {Setting(e)}"));
        Assert.Equal(42, result.Service.Version);
        Assert.Same(function, result.Function);
        Assert.Equal(7, result.Function.Version);
        Assert.Equal(2, result.Changes.Count);
    }

    // Policies: memory's service/function policy, now's service/function policy → the policies to hold.
    public static TheoryData<string, string?, string?, string, string, string, string> Policies => new()
    {
        { "service changed: function follows",          "roundrobin", "roundrobin", "leastconn", "roundrobin",   "leastconn", "leastconn" },
        { "function changed: service follows",          "roundrobin", "roundrobin", "roundrobin", "leastconn",   "leastconn", "leastconn" },
        { "both changed, differ: service leads",        "roundrobin", "roundrobin", "leastconn", "source",       "leastconn", "leastconn" },
        { "nothing remembered, differ: service leads",  null, null,                 "first", "source",           "first", "first" },
        { "only the function remembered: service leads", null, "source",           "first", "source",           "first", "first" },
        { "equal: nothing",                             "roundrobin", "roundrobin", "leastconn", "leastconn",    "leastconn", "leastconn" },
        { "neither changed but differ: service leads",  "first", "source",          "first", "source",           "first", "first" },
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Coordinate_Policies_SideThatMovedLeads(
        string name, string? lastService, string? lastFunction, string nowService, string nowFunction, string expectedService, string expectedFunction)
    {
        var service = ServiceTable() with { Policy = nowService };
        var function = FunctionTable() with { Policy = nowFunction };

        var result = LbCoordination.Coordinate(service, function, Pairing(), Remember(lastService, lastFunction, [], []));

        Assert.Equal(expectedService, result.Service.Policy);
        Assert.Equal(expectedFunction, result.Function.Policy);
        Assert.Equal(expectedService != nowService, result.ServiceChanged);
        Assert.Equal(expectedFunction != nowFunction, result.FunctionChanged);
        Assert.Equal(expectedService, result.Memory.ServicePolicy);
        Assert.Equal(expectedFunction, result.Memory.FunctionPolicy);
        Assert.Equal(nowService == nowFunction ? 0 : 1, result.Changes.Count);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void Coordinate_PolicyFromFunction_SentenceNamesBoth()
    {
        var service = ServiceTable();
        var function = FunctionTable() with { Policy = "leastconn" };

        var result = LbCoordination.Coordinate(service, function, Pairing(), Synced(service, FunctionTable()));

        Assert.Equal(["service 'db': policy 'roundrobin' -> 'leastconn' (from function 'f')"], result.Changes);
        Assert.Equal(2, result.Service.Version);
    }

    [Fact]
    public void Coordinate_SecondPassOnItsOwnResult_ChangesNothing()
    {
        var service = ServiceTable(E("db1", "10 ready"), E("db2", "5 drain"), E("db3", "1 ready"), E("db4", "8 ready")) with { Policy = "leastconn" };
        var function = FunctionTable(E("i-1", "3 ready"), E("i-2", "5 ready"), E("i-4", "2 maint"));
        var memory = Remember("roundrobin", "roundrobin", [E("db1", "3 ready"), E("db4", "8 ready")], [E("i-1", "3 ready"), E("i-4", "8 ready"), E("i-5", "1 ready")],
            ("db1", "i-1"), ("db3", "i-5"), ("db4", "i-4"));
        var pairing = Pairing(("db1", "i-1"), ("db2", "i-2"), ("db4", "i-4"));

        var first = LbCoordination.Coordinate(service, function, pairing, memory);
        var second = LbCoordination.Coordinate(first.Service, first.Function, pairing, first.Memory);

        Assert.True(first.ServiceChanged);
        Assert.True(first.FunctionChanged);
        Assert.Same(first.Service, second.Service);
        Assert.Same(first.Function, second.Function);
        Assert.False(second.ServiceChanged);
        Assert.False(second.FunctionChanged);
        Assert.Empty(second.Changes);
        Assert.Equal(first.Memory.ServicePolicy, second.Memory.ServicePolicy);
        Assert.Equal(first.Memory.FunctionPolicy, second.Memory.FunctionPolicy);
        Assert.Equal(first.Memory.ServiceEntries.OrderBy(p => p.Key), second.Memory.ServiceEntries.OrderBy(p => p.Key));
        Assert.Equal(first.Memory.FunctionEntries.OrderBy(p => p.Key), second.Memory.FunctionEntries.OrderBy(p => p.Key));
        Assert.Equal(first.Memory.Pairs, second.Memory.Pairs);
        // What the first pass did: db1 moved (service leads), db2–i-2 new (service leads), i-4 moved (function
        // leads), db3 lost i-5 (maint), policy from the service.
        Assert.Equal(["10 ready", "5 drain", "1 maint", "2 maint"], first.Service.Entries.Select(Setting));
        Assert.Equal(["10 ready", "5 drain", "2 maint"], first.Function.Entries.Select(Setting));
        Assert.Equal("leastconn", first.Function.Policy);
    }

    [Fact]
    public void Coordinate_Memory_HoldsResultingEntriesPoliciesAndPairs()
    {
        var service = ServiceTable(E("db1", "10 ready"), E("db2", "4 ready"));
        var function = FunctionTable(E("i-1", "1 ready"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1")), LbCoordinationMemory.Empty);

        Assert.Equal("roundrobin", result.Memory.ServicePolicy);
        Assert.Equal("roundrobin", result.Memory.FunctionPolicy);
        Assert.Equal(E("db1", "10 ready"), result.Memory.ServiceEntries["db1"]);
        Assert.Equal(E("db2", "4 ready"), result.Memory.ServiceEntries["db2"]);
        Assert.Equal(E("i-1", "10 ready"), Assert.Single(result.Memory.FunctionEntries).Value);
        Assert.Equal([new LbPair("db1", "i-1")], result.Memory.Pairs);
    }

    [Fact]
    public void Coordinate_PairWithIdNotInTheTables_SkippedAndNotRemembered()
    {
        // i-2 is placed but not in the balancer yet: nothing to sync, and no pair to mourn next pass.
        var service = ServiceTable(E("db1", "10 ready"), E("db2", "10 ready"));
        var function = FunctionTable(E("i-1", "10 ready"));
        var memory = Synced(service, function, ("db1", "i-1"));

        var result = LbCoordination.Coordinate(service, function, Pairing(("db1", "i-1"), ("db2", "i-2")), memory);
        var next = LbCoordination.Coordinate(result.Service, result.Function, Pairing(("db1", "i-1")), result.Memory);

        Assert.Empty(result.Changes);
        Assert.Equal([new LbPair("db1", "i-1")], result.Memory.Pairs);
        Assert.Empty(next.Changes);
    }

    [Fact]
    public void Coordinate_PairingConflicts_PassedThrough()
    {
        var conflict = new LbConflict(Function, Service, "containers 'db1', 'db2' share node 'n1'.");
        var pairing = new LbPairing([], [conflict]);

        var result = LbCoordination.Coordinate(ServiceTable(E("db1", "1 ready")), FunctionTable(E("i-1", "2 ready")), pairing, LbCoordinationMemory.Empty);

        Assert.Equal([conflict], result.Conflicts);
        Assert.Empty(result.Changes);
    }

    [Fact]
    public void Coordinate_EmptyTablesAndMemory_Nothing()
    {
        var service = ServiceTable();
        var function = FunctionTable();

        var result = LbCoordination.Coordinate(service, function, Pairing(), LbCoordinationMemory.Empty);

        Assert.Same(service, result.Service);
        Assert.Same(function, result.Function);
        Assert.Empty(result.Changes);
        Assert.Empty(result.Memory.Pairs);
    }

    [Fact]
    public void Coordinate_NullArguments_Throw()
    {
        var service = ServiceTable();
        var function = FunctionTable();
        var pairing = Pairing();
        var memory = LbCoordinationMemory.Empty;

        Assert.Throws<ArgumentNullException>("service", () => LbCoordination.Coordinate(null!, function, pairing, memory));
        Assert.Throws<ArgumentNullException>("function", () => LbCoordination.Coordinate(service, null!, pairing, memory));
        Assert.Throws<ArgumentNullException>("pairing", () => LbCoordination.Coordinate(service, function, null!, memory));
        Assert.Throws<ArgumentNullException>("memory", () => LbCoordination.Coordinate(service, function, pairing, null!));
    }

    [Fact]
    public void Coordinate_WrongSides_Throw()
    {
        var service = ServiceTable();
        var function = FunctionTable();

        Assert.Throws<ArgumentException>("service", () => LbCoordination.Coordinate(function, function, Pairing(), LbCoordinationMemory.Empty));
        Assert.Throws<ArgumentException>("function", () => LbCoordination.Coordinate(service, service, Pairing(), LbCoordinationMemory.Empty));
    }

    public static TheoryData<string, LbTable, LbTable, LbPairing, string> BadInputs => new()
    {
        { "duplicate container", ServiceTable(E("db1", "1 ready"), E("db1", "2 ready")), FunctionTable(), Pairing(), "service" },
        { "weight above 256", ServiceTable(), FunctionTable(E("i-1", "257 ready")), Pairing(), "function" },
        { "negative weight", ServiceTable(E("db1", "-1 ready")), FunctionTable(), Pairing(), "service" },
        { "unknown state", ServiceTable(new LbEntry("db1", 1, (LbEntryState)9)), FunctionTable(), Pairing(), "service" },
        { "container paired twice", ServiceTable(), FunctionTable(), Pairing(("db1", "i-1"), ("db1", "i-2")), "pairing" },
        { "instance paired twice", ServiceTable(), FunctionTable(), Pairing(("db1", "i-1"), ("db2", "i-1")), "pairing" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Coordinate_BadInput_ThrowsNamingTheArgument(string name, LbTable service, LbTable function, LbPairing pairing, string parameter)
    {
        var error = Assert.Throws<ArgumentException>(() => LbCoordination.Coordinate(service, function, pairing, LbCoordinationMemory.Empty));

        Assert.Equal(parameter, error.ParamName);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void Empty_RemembersNothing()
    {
        var empty = LbCoordinationMemory.Empty;

        Assert.Null(empty.ServicePolicy);
        Assert.Null(empty.FunctionPolicy);
        Assert.Empty(empty.ServiceEntries);
        Assert.Empty(empty.FunctionEntries);
        Assert.Empty(empty.Pairs);
    }
}
