using Drover.Aggregator.Balancers.Haproxy;

namespace Drover.Aggregator.Tests.Balancers.Haproxy;

/// <summary>
/// The Runtime API client against the real HAProxy (Debian's package, 2.6 on bookworm): one process per test, a
/// round-robin backend of two servers on free loopback ports (nothing listens there; without health checks HAProxy
/// counts them up) behind a frontend on another.
/// </summary>
public sealed class HaproxyRuntimeClientRealTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly int _db1Port = Ports.Free();
    private readonly int _db2Port = Ports.Free();
    private HaproxyProcess? _haproxy;

    private HaproxyProcess Haproxy => _haproxy!;

    private HaproxyRuntimeClient Client => new(HaproxyAddress.Parse(Haproxy.RuntimeApi), Timeout);

    private static CancellationToken None => CancellationToken.None;

    public async Task InitializeAsync()
    {
        _haproxy = await HaproxyProcess.StartAsync(
            $"""
            backend be_db
                balance roundrobin
                server db1 127.0.0.1:{_db1Port} weight 1
                server db2 127.0.0.1:{_db2Port} weight 1

            backend be_static
                balance static-rr
                server s1 127.0.0.1:{_db1Port}

            frontend fe
                bind 127.0.0.1:{Ports.Free()}
                default_backend be_db
            """);
    }

    public async Task DisposeAsync()
    {
        if (_haproxy is not null)
        {
            await _haproxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task ShowServersAsync_ConfiguredBackend_BothServersReadyAndUp()
    {
        var servers = await Client.ShowServersAsync("be_db", None);

        Assert.Equal(
            [
                new HaproxyServer("be_db", "db1", "127.0.0.1", _db1Port, UserWeight: 1, Weight: 1, HaproxyServerAdmin.Ready, Up: true),
                new HaproxyServer("be_db", "db2", "127.0.0.1", _db2Port, UserWeight: 1, Weight: 1, HaproxyServerAdmin.Ready, Up: true),
            ],
            servers);
    }

    [Fact]
    public async Task SetWeightAsync_Ten_ShowReflectsUserWeight()
    {
        await Client.SetWeightAsync("be_db", "db1", 10, None);

        var db1 = (await Client.ShowServersAsync("be_db", None)).Single(s => s.Name == "db1");
        Assert.Equal((10, 1), (db1.UserWeight, db1.Weight));
    }

    [Fact]
    public async Task SetAdminAsync_MaintDrainReady_ShowFollows()
    {
        async Task<HaproxyServer> Db2() => (await Client.ShowServersAsync("be_db", None)).Single(s => s.Name == "db2");

        await Client.SetAdminAsync("be_db", "db2", HaproxyServerAdmin.Maint, None);
        var maint = await Db2();
        await Client.SetAdminAsync("be_db", "db2", HaproxyServerAdmin.Drain, None);
        var drain = await Db2();
        await Client.SetAdminAsync("be_db", "db2", HaproxyServerAdmin.Ready, None);
        var ready = await Db2();

        Assert.Equal((HaproxyServerAdmin.Maint, false), (maint.Admin, maint.Up));
        Assert.Equal((HaproxyServerAdmin.Drain, true), (drain.Admin, drain.Up));
        Assert.Equal((HaproxyServerAdmin.Ready, true), (ready.Admin, ready.Up));
    }

    [Fact]
    public async Task AddServerAsync_ThenDelServerAsync_ShownThenGone()
    {
        var port = Ports.Free();

        await Client.AddServerAsync("be_db", "db3", "127.0.0.1", port, 5, None);
        var added = await Client.ShowServersAsync("be_db", None);
        await Client.DelServerAsync("be_db", "db3", None);
        var after = await Client.ShowServersAsync("be_db", None);

        Assert.Equal(
            new HaproxyServer("be_db", "db3", "127.0.0.1", port, UserWeight: 5, Weight: 5, HaproxyServerAdmin.Ready, Up: true),
            added.Single(s => s.Name == "db3"));
        Assert.Equal(["db1", "db2"], after.Select(s => s.Name));
    }

    [Fact]
    public async Task AddServerAsync_Ipv6_ShownWithoutBrackets()
    {
        await Client.AddServerAsync("be_db", "db6", "::1", 8080, 2, None);

        var db6 = (await Client.ShowServersAsync("be_db", None)).Single(s => s.Name == "db6");
        Assert.Equal(("::1", 8080, 2), (db6.Address, db6.Port, db6.UserWeight));
    }

    [Fact]
    public async Task DelServerAsync_ConfiguredServer_AlsoDeleted()
    {
        await Client.DelServerAsync("be_db", "db2", None);

        Assert.Equal(["db1"], (await Client.ShowServersAsync("be_db", None)).Select(s => s.Name));
    }

    [Fact]
    public async Task Errors_HaproxyTexts_SurfaceInExceptions()
    {
        var noBackend = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => Client.ShowServersAsync("nope", None));
        var noServer = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => Client.SetWeightAsync("be_db", "nope", 1, None));
        var noBackendSet = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => Client.SetAdminAsync("nope", "db1", HaproxyServerAdmin.Drain, None));
        var duplicate = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => Client.AddServerAsync("be_db", "db1", "127.0.0.1", 9, 1, None));
        var staticRr = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => Client.AddServerAsync("be_static", "s2", "127.0.0.1", 9, 1, None));
        var delGone = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => Client.DelServerAsync("be_db", "nope", None));

        Assert.Equal("Can't find backend.", noBackend.Reply?.Trim());
        Assert.Equal("No such server.", noServer.Reply?.Trim());
        Assert.Equal("No such backend.", noBackendSet.Reply?.Trim());
        Assert.Equal("Already exists a server with the same name in backend.", duplicate.Reply?.Trim());
        Assert.Equal("Backend must use a dynamic load balancing to support dynamic servers.", staticRr.Reply?.Trim());
        Assert.Equal("No such server.", delGone.Reply?.Trim());
        Assert.Equal(["db1", "db2"], (await Client.ShowServersAsync("be_db", None)).Select(s => s.Name));
    }

    [Fact]
    public async Task Commands_ManyInARow_EachOnItsOwnConnection()
    {
        // HAProxy closes a non-interactive connection after its one line: every command must reconnect.
        var client = Client;
        for (var weight = 0; weight <= 20; weight++)
        {
            await client.SetWeightAsync("be_db", "db1", weight, None);
        }

        Assert.Equal(20, (await client.ShowServersAsync("be_db", None)).Single(s => s.Name == "db1").UserWeight);
    }
}
