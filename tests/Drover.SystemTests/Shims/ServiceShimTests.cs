using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Shims;

/// <summary>
/// Services on real agents: a set of instances over the nodes, consistent routing by a request field
/// from whichever node a request enters, and a blue/green replacement under steady load.
/// </summary>
public sealed class ServiceShimTests(ITestOutputHelper output) : ShimTestBase(output)
{
    private static object Web(string version, int instanceCount, object? routingField = null) => new
    {
        version,
        @public = true,
        runtime = new { type = "process", command = Repository.Counter },
        instanceCount,
        routingField,
        slo = 8,
        drainTimeoutMs = 10_000,
        commitIntervalSeconds = 0,
    };

    private async Task WaitForActiveAsync(string version)
        => await Fleet.WaitUntilAsync(
            async () =>
            {
                var service = await GetAsync("/v1/services/web");
                return service.GetProperty("activeVersion").GetString() == version
                    && service.GetProperty("sets").GetArrayLength() == 1;
            },
            Timeout,
            $"version '{version}' of 'web' serves alone",
            async () => (await GetAsync("/v1/services/web")).ToString());

    /// <summary>Every node applied a table of <paramref name="count"/> routes: until then nodes may route by different tables.</summary>
    private Task WaitForRoutesAsync(int count)
        => Fleet.WaitUntilAsync(
            async () => (await GetAsync("/v1/services/web")).GetProperty("routes") is { ValueKind: JsonValueKind.Object } routes
                && routes.GetProperty("instances").GetArrayLength() == count
                && routes.GetProperty("appliedBy").GetArrayLength() == Ports.Count,
            Timeout,
            $"every node applied the routes to {count} instances",
            async () => (await GetAsync("/v1/services/web")).ToString());

    [Fact]
    public async Task RoutingByHeader_SameValueReachesSameInstanceFromEveryNode()
    {
        await StartAgentsAsync(3);
        await PutAsync("/v1/services/web", Web("1", 3, new { header = "X-User" }));
        await WaitForActiveAsync("1");
        await WaitForReadyAsync("/v1/services/web", 3);
        await WaitForRoutesAsync(3);

        var chosen = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        for (var user = 0; user < 60; user++)
        {
            foreach (var port in Ports.Values)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/services/web/");
                request.Headers.Add("X-User", $"user-{user}");
                using var response = await Client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var instance = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instanceId").GetString()!;
                Assert.Equal(instance, response.Headers.GetValues("X-Drover-Instance").Single());
                (chosen.TryGetValue($"user-{user}", out var set) ? set : chosen[$"user-{user}"] = new HashSet<string>(StringComparer.Ordinal)).Add(instance);
            }
        }

        Assert.All(chosen, c => Assert.True(c.Value.Count == 1, $"'{c.Key}' reached {string.Join(", ", c.Value)}"));
        Assert.Equal(3, chosen.Values.Select(v => v.Single()).Distinct().Count());
    }

    [Fact]
    public async Task RoutingByJsonField_SameValueReachesSameInstance()
    {
        await StartAgentsAsync(2);
        await PutAsync("/v1/services/web", Web("1", 2, new { jsonField = "tenant" }));
        await WaitForActiveAsync("1");
        await WaitForReadyAsync("/v1/services/web", 2);
        await WaitForRoutesAsync(2);

        for (var tenant = 0; tenant < 20; tenant++)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var port in Ports.Values)
            {
                using var body = new StringContent($"{{\"tenant\": \"t{tenant}\", \"payload\": [1, 2, 3]}}", Encoding.UTF8, "application/json");
                using var response = await Client.PostAsync($"http://127.0.0.1:{port}/v1/services/web/", body);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                seen.Add(response.Headers.GetValues("X-Drover-Instance").Single());
            }

            Assert.Single(seen);
        }
    }

    [Fact]
    public async Task NewVersionUnderSteadyLoad_BlueGreenReplacement_NoRequestFails()
    {
        await StartAgentsAsync(2);
        await PutAsync("/v1/services/web", Web("1", 2));
        await WaitForActiveAsync("1");
        await WaitForReadyAsync("/v1/services/web", 2);

        var failures = new ConcurrentQueue<string>();
        var versions = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var ports = Ports.Values.ToArray();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var sent = 0;
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 20_000; i++)
            {
                Interlocked.Increment(ref sent);
                try
                {
                    using var response = await Client.PostAsync($"http://127.0.0.1:{ports[(worker + i) % ports.Length]}/v1/services/web/?sleepMs=20", null);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                    else
                    {
                        versions.AddOrUpdate(response.Headers.GetValues("X-Drover-Instance").Single().Split('-')[1], 1, (_, n) => n + 1);
                    }
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.Message);
                }
            }
        })).ToArray();

        await Task.Delay(500);
        await PutAsync("/v1/services/web", Web("2", 2));
        await WaitForActiveAsync("2");
        await Fleet.WaitUntilAsync(
            async () => (await GetAsync("/v1/services/web")).GetProperty("instances").EnumerateArray().All(i => i.GetProperty("version").GetString() == "2"),
            Timeout,
            "the old set's instances are gone");
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Output.WriteLine($"{sent} requests; by version: {string.Join(", ", versions.Select(v => $"{v.Key}={v.Value}"))}");
        Assert.Empty(failures);
        Assert.True(versions.GetValueOrDefault("1") > 0 && versions.GetValueOrDefault("2") > 0, "both versions served during the test");
    }
}
