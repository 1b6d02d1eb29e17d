using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.Aggregator.Tests.Events;

namespace Drover.Aggregator.Tests.Api;

/// <summary>
/// <c>/v1/balancers</c> and <c>/v1/lb</c> on an in-process aggregator with a real HAProxy, polled only once an hour, so
/// that what the tables show after a registration or a sync request was read because of it.
/// </summary>
public sealed class BalancingApiTests : IAsyncLifetime
{
    private TestAggregator? _aggregator;
    private HaproxyProcess? _haproxy;

    private TestAggregator Aggregator => _aggregator!;

    private HaproxyProcess Haproxy => _haproxy!;

    public async Task InitializeAsync()
    {
        _haproxy = await HaproxyProcess.StartAsync($"""
            backend be_db
                server db1 127.0.0.1:{Ports.Free()} weight 2
                server db2 127.0.0.1:{Ports.Free()} weight 3
            """);
        _aggregator = await TestAggregator.StartAsync(configure: o => o.BalancerPollPeriodMs = 3_600_000);
    }

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }

        if (_haproxy is not null)
        {
            await _haproxy.DisposeAsync();
        }
    }

    private object Registration(string service = "db") => new { kind = "haproxy", runtimeApi = Haproxy.RuntimeApi, backend = "be_db", service };

    private async Task<JsonElement> GetAsync(string path) => await Aggregator.Http.GetFromJsonAsync<JsonElement>(path);

    private async Task<int?> WeightAsync(string server)
    {
        using var response = await Aggregator.Http.GetAsync("/v1/lb/services/db");
        return response.StatusCode != HttpStatusCode.OK ? null
            : (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("entries").EnumerateArray()
                .Where(e => e.GetProperty("id").GetString() == server).Select(e => (int?)e.GetProperty("weight").GetInt32()).FirstOrDefault();
    }

    [Fact]
    public async Task Register_ReadAtOnce_SyncRequestReadsAgain_DeleteForgets()
    {
        using (var put = await Aggregator.Http.PutAsJsonAsync("/v1/balancers/db", Registration()))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        // Registered: read at once, not an hour later.
        await TestAggregator.WaitUntilAsync(async () => await WeightAsync("db2") == 3, "the service's table shows db2 at weight 3");
        var balancer = await GetAsync("/v1/balancers/db");
        Assert.Equal("ok", balancer.GetProperty("status").GetString());
        Assert.Equal(2, balancer.GetProperty("serversRead").GetInt32());
        Assert.Equal(JsonValueKind.Null, balancer.GetProperty("error").ValueKind);
        var table = await GetAsync("/v1/lb/services/db");
        Assert.Equal(("service", "roundrobin", "in step"), (table.GetProperty("kind").GetString(), table.GetProperty("policy").GetString(), table.GetProperty("status").GetString()));
        var version = table.GetProperty("version").GetInt64();

        // Changed in HAProxy, then the balancer asks: read now.
        Assert.Equal("", (await Haproxy.CommandAsync("set server be_db/db1 weight 7")).Trim());
        using (var sync = await Aggregator.Http.PostAsync("/v1/balancers/db/sync", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, sync.StatusCode);
        }

        await TestAggregator.WaitUntilAsync(async () => await WeightAsync("db1") == 7, "the sync request read db1's weight 7");
        Assert.Equal(version + 1, (await GetAsync("/v1/lb/services/db")).GetProperty("version").GetInt64());

        using (var delete = await Aggregator.Http.DeleteAsync("/v1/balancers/db"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using var gone = await Aggregator.Http.GetAsync("/v1/balancers/db");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var syncGone = await Aggregator.Http.PostAsync("/v1/balancers/db/sync", null);
        Assert.Equal(HttpStatusCode.NotFound, syncGone.StatusCode);
    }

    [Fact]
    public async Task Refusals_BadField_SecondBalancerOfAService_ReadToken_UnknownTable()
    {
        using (var bad = await Aggregator.Http.PutAsJsonAsync("/v1/balancers/db", new { kind = "haproxy", runtimeApi = "http://x", backend = "be_db", service = "db" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("runtimeApi", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var first = await Aggregator.Http.PutAsJsonAsync("/v1/balancers/db", Registration()))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        using (var second = await Aggregator.Http.PutAsJsonAsync("/v1/balancers/db-2", Registration()))
        {
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
            Assert.Contains("'db'", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var reader = Aggregator.ClientWith(Aggregator.ReadToken))
        using (var write = await reader.PutAsJsonAsync("/v1/balancers/db", Registration()))
        {
            Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        }

        using var unknown = await Aggregator.Http.GetAsync("/v1/lb/functions/nothing");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // A Drover service may not take the name a registered balancer serves, nor the other way round.
        using (var service = await Aggregator.Http.PutAsJsonAsync("/v1/services/db", new { runtime = new { type = "process", command = "/bin/true" } }))
        {
            Assert.Equal(HttpStatusCode.Conflict, service.StatusCode);
            Assert.Contains("balancer 'db'", await service.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var other = await Aggregator.Http.PutAsJsonAsync("/v1/services/web", new { runtime = new { type = "process", command = "/bin/true" } }))
        {
            Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        }

        using (var clash = await Aggregator.Http.PutAsJsonAsync("/v1/balancers/web-lb", Registration("web")))
        {
            Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        }
    }
}
