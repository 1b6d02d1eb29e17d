using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Drover.SystemTests.Shims;
using Xunit.Abstractions;

namespace Drover.SystemTests.Balancing;

/// <summary>
/// Issue 18 end to end: a real HAProxy (Debian's package) on loopback with its stats socket, registered with a real
/// aggregator; a function co-located with its backend's servers on two real agents. A weight set in HAProxy through its
/// socket reaches the function's table and the gateway's split; scaling the function changes HAProxy's servers, read
/// back from HAProxy itself.
/// </summary>
public sealed class HaproxyCoordinationTests(ITestOutputHelper output) : ShimTestBase(output)
{
    private const string Function = "/v1/functions/counter";
    private const string FunctionTable = "/v1/lb/functions/counter";

    [Fact]
    public async Task HaproxyWeight_ReachesTheFunctionAndTheGatewaySplit_ScalingTheFunction_ChangesHaproxysServers()
    {
        await StartAgentsAsync(2);
        var nodeA = Fleet.NodeIdOf("a1");
        var nodeB = Fleet.NodeIdOf("a2");

        // The containers: two servers of a backend, one placed on each node (their addresses are all loopback here,
        // so the registration says where each runs). Nothing is sent to them: HAProxy is the balancer under test.
        await using var haproxy = await HaproxyProcess.StartAsync($"""
            backend be_db
                balance roundrobin
                server db1 127.0.0.1:{Drover.Testing.Ports.Free()} weight 1
                server db2 127.0.0.1:{Drover.Testing.Ports.Free()} weight 1
            """);
        await PutAsync("/v1/balancers/db", new
        {
            kind = "haproxy",
            runtimeApi = haproxy.RuntimeApi,
            backend = "be_db",
            service = "db",
            servers = new Dictionary<string, object> { ["db1"] = new { node = nodeA }, ["db2"] = new { node = nodeB } },
        });
        await PutAsync(Function, Definition(everyNode: true));
        await WaitForReadyAsync(Function, 2);
        var instanceOn = await InstancesByNodeAsync();

        // First pass: the service leads; each instance paired with the server on its node, both at weight 1.
        await WaitForTableAsync(t => Weight(t, instanceOn[nodeA]) == 1 && Weight(t, instanceOn[nodeB]) == 1, "the function's table has both instances at weight 1");
        var associations = await GetAsync("/v1/lb/associations");
        var association = Assert.Single(associations.EnumerateArray());
        Assert.True(association.GetProperty("coordinated").GetBoolean(), association.ToString());
        Assert.Equal(2, association.GetProperty("pairs").GetArrayLength());
        var balancer = await GetAsync("/v1/balancers/db");
        Assert.Equal("ok", balancer.GetProperty("status").GetString());
        Assert.Equal(2, balancer.GetProperty("serversRead").GetInt32());

        // Equal weights, idle nodes: sequential requests spread over both.
        var spread = await ServedByAsync(40);
        Assert.True(spread.ContainsKey(nodeA) && spread.ContainsKey(nodeB), $"both nodes serve at equal weights: {Describe(spread)}");

        // The operator changes a weight in HAProxy, as the done-when does with socat.
        var version = (await GetAsync(FunctionTable)).GetProperty("version").GetInt64();
        Assert.Equal("", (await haproxy.CommandAsync("set server be_db/db1 weight 10")).Trim());
        var took = await WaitForTableAsync(t => Weight(t, instanceOn[nodeA]) == 10, "the instance on db1's node has weight 10");
        Output.WriteLine($"HAProxy weight to the function's table: {took.TotalMilliseconds:F0} ms (poll period 2 s)");
        var table = await GetAsync(FunctionTable);
        Assert.True(table.GetProperty("version").GetInt64() > version);
        Assert.Equal(1, Weight(table, instanceOn[nodeB]));
        Assert.Equal("in step", table.GetProperty("status").GetString());

        // The gateway follows: weighted least outstanding, 10 against 1, so idle sequential requests all go to node A.
        await Fleet.WaitUntilAsync(async () => (await ServedByAsync(20)).Keys.SequenceEqual([nodeA]), Timeout, "the gateway sends every request to the weight-10 node");

        // Scaling the function down to one instance: the server whose instance stopped goes to maintenance in HAProxy.
        await PutAsync(Function, Definition(everyNode: false));
        await Fleet.WaitUntilAsync(async () => (await InstancesByNodeAsync()).Count == 1, Timeout, "one instance is left");
        var left = (await InstancesByNodeAsync()).Keys.Single();
        var (kept, stopped) = left == nodeA ? ("db1", "db2") : ("db2", "db1");
        await Fleet.WaitUntilAsync(
            async () => (await ServersAsync(haproxy))[stopped].Admin == "maint",
            Timeout,
            $"HAProxy shows {stopped} in maintenance",
            async () => await haproxy.CommandAsync("show servers state be_db"));
        Assert.Equal("ready", (await ServersAsync(haproxy))[kept].Admin);
        await Fleet.WaitUntilAsync(async () => (await ServedByAsync(10)).Keys.SequenceEqual([left]), Timeout, "the gateway sends every request to the instance left");

        // Back to one instance per node: the new instance brings its server back into service, at the server's own
        // weight, and joins at it.
        await PutAsync(Function, Definition(everyNode: true));
        await WaitForReadyAsync(Function, 2);
        await Fleet.WaitUntilAsync(
            async () => (await ServersAsync(haproxy))[stopped].Admin == "ready",
            Timeout,
            $"HAProxy shows {stopped} ready again",
            async () => await haproxy.CommandAsync("show servers state be_db"));
        var weight = stopped == "db1" ? 10 : 1;
        Assert.Equal(weight, (await ServersAsync(haproxy))[stopped].Weight);
        var returned = (await InstancesByNodeAsync())[left == nodeA ? nodeB : nodeA];
        await WaitForTableAsync(t => Weight(t, returned) == weight, $"the new instance joins at {stopped}'s weight {weight}");
    }

    [Fact]
    public async Task HaproxyStopped_BalancerFailing_TablesKept_ThenBackWhenItAnswers()
    {
        await StartAgentsAsync(1);
        var node = Fleet.NodeIdOf("a1");
        var sections = $"""
            backend be_db
                server db1 127.0.0.1:{Drover.Testing.Ports.Free()} weight 3
            """;
        var haproxy = await HaproxyProcess.StartAsync(sections);
        try
        {
            await PutAsync("/v1/balancers/db", new { kind = "haproxy", runtimeApi = haproxy.RuntimeApi, backend = "be_db", service = "db", servers = new Dictionary<string, object> { ["db1"] = new { node } } });
            await PutAsync(Function, Definition(everyNode: true));
            await WaitForReadyAsync(Function, 1);
            await WaitForTableAsync(t => t.GetProperty("entries").EnumerateArray().Any(e => e.GetProperty("weight").GetInt32() == 3), "the function's instance has db1's weight 3");
            var before = await GetAsync(FunctionTable);

            // HAProxy gone: reported, retried, and nothing of Drover's tables changes.
            await haproxy.DisposeAsync();
            await Fleet.WaitUntilAsync(async () => (await GetAsync("/v1/balancers/db")).GetProperty("status").GetString() == "failing", Timeout, "the balancer is reported failing");
            var failing = await GetAsync("/v1/balancers/db");
            Assert.Contains("be_db", failing.GetProperty("error").GetString(), StringComparison.Ordinal);
            var during = await GetAsync(FunctionTable);
            Assert.Equal(before.GetProperty("version").GetInt64(), during.GetProperty("version").GetInt64());
            Assert.Equal(before.GetProperty("entries").ToString(), during.GetProperty("entries").ToString());
            var service = await GetAsync("/v1/lb/services/db");
            Assert.Contains(service.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("be_db", StringComparison.Ordinal));

            // A balancer that answers garbage is refused the same way: a plain TCP peer that talks nonsense.
            using var garbage = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            garbage.Start();
            var port = ((IPEndPoint)garbage.LocalEndpoint).Port;
            using var stop = new CancellationTokenSource();
            var answering = AnswerGarbageAsync(garbage, stop.Token);
            await PutAsync("/v1/balancers/db", new { kind = "haproxy", runtimeApi = $"tcp:127.0.0.1:{port}", backend = "be_db", service = "db", servers = new Dictionary<string, object> { ["db1"] = new { node } } });
            await Fleet.WaitUntilAsync(
                async () => (await GetAsync("/v1/balancers/db")).GetProperty("error").GetString()?.Contains($"127.0.0.1:{port}", StringComparison.Ordinal) == true,
                Timeout,
                "the garbage-answering balancer is reported failing");
            Assert.Equal(before.GetProperty("entries").ToString(), (await GetAsync(FunctionTable)).GetProperty("entries").ToString());
            await stop.CancelAsync();
            garbage.Stop();
            await answering;

            // Back: a new HAProxy (in a directory of its own); the registration pointed at it is read again.
            haproxy = await HaproxyProcess.StartAsync(sections);
            await PutAsync("/v1/balancers/db", new { kind = "haproxy", runtimeApi = haproxy.RuntimeApi, backend = "be_db", service = "db", servers = new Dictionary<string, object> { ["db1"] = new { node } } });
            await Fleet.WaitUntilAsync(async () => (await GetAsync("/v1/balancers/db")).GetProperty("status").GetString() == "ok", Timeout, "the balancer answers again");
            Assert.Empty((await GetAsync("/v1/lb/services/db")).GetProperty("problems").EnumerateArray());
        }
        finally
        {
            await haproxy.DisposeAsync();
        }
    }

    private static object Definition(bool everyNode) => everyNode
        ? new { runtime = new { type = "process", command = Repository.Counter }, @public = true, slo = 4, commitIntervalSeconds = 0, colocateWith = new { service = "db", scope = "node" } }
        : new { runtime = new { type = "process", command = Repository.Counter }, @public = true, slo = 4, commitIntervalSeconds = 0, colocateWith = new { service = "db", scope = "node" }, placement = "autoscale", minInstances = 1, maxInstances = 1, scaleDownWindowSeconds = 0 };

    private async Task<Dictionary<string, string>> InstancesByNodeAsync()
        => (await GetAsync(Function)).GetProperty("instances").EnumerateArray()
            .Where(i => i.GetProperty("state").GetString() == "running")
            .ToDictionary(i => i.GetProperty("nodeId").GetString()!, i => i.GetProperty("instanceId").GetString()!);

    private async Task<TimeSpan> WaitForTableAsync(Func<JsonElement, bool> condition, string what)
        => await Fleet.WaitUntilAsync(
            async () =>
            {
                using var response = await Fleet.Http.GetAsync(FunctionTable);
                return response.StatusCode == HttpStatusCode.OK && condition(await response.Content.ReadFromJsonAsync<JsonElement>());
            },
            Timeout,
            what,
            async () => (await Fleet.Http.GetStringAsync(FunctionTable)) + "\n" + (await Fleet.Http.GetStringAsync("/v1/lb/associations")));

    private static int? Weight(JsonElement table, string instanceId)
        => table.GetProperty("entries").EnumerateArray().Where(e => e.GetProperty("id").GetString() == instanceId).Select(e => (int?)e.GetProperty("weight").GetInt32()).FirstOrDefault();

    /// <summary>Sends <paramref name="count"/> requests through the gateway one after the other; how many each node served.</summary>
    private async Task<SortedDictionary<string, int>> ServedByAsync(int count)
    {
        var served = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            using var response = await Client.PostAsync($"http://127.0.0.1:{Fleet.HttpPort}/v1/invoke/counter", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var node = response.Headers.GetValues("X-Drover-Node").Single();
            served[node] = served.GetValueOrDefault(node) + 1;
        }

        return served;
    }

    private static string Describe(IDictionary<string, int> served) => string.Join(", ", served.Select(s => $"{s.Key}: {s.Value}"));

    /// <summary>HAProxy's own view of <c>be_db</c>: per server, its user weight and administrative state.</summary>
    private static async Task<Dictionary<string, (int Weight, string Admin)>> ServersAsync(HaproxyProcess haproxy)
    {
        var lines = (await haproxy.CommandAsync("show servers state be_db")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines.Single(l => l.StartsWith("# be_id", StringComparison.Ordinal))[2..].Split(' ');
        var servers = new Dictionary<string, (int, string)>(StringComparer.Ordinal);
        foreach (var line in lines.Where(l => !l.StartsWith('#') && l.Contains(' ', StringComparison.Ordinal)))
        {
            var fields = line.Split(' ');
            string Field(string name) => fields[Array.IndexOf(header, name)];
            var admin = int.Parse(Field("srv_admin_state"), System.Globalization.CultureInfo.InvariantCulture);
            servers[Field("srv_name")] = (
                int.Parse(Field("srv_uweight"), System.Globalization.CultureInfo.InvariantCulture),
                (admin & 0x01) != 0 ? "maint" : (admin & 0x08) != 0 ? "drain" : "ready");
        }

        return servers;
    }

    private static async Task AnswerGarbageAsync(System.Net.Sockets.TcpListener listener, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop);
                await client.GetStream().WriteAsync("HTTP/1.1 200 OK\r\n\r\n<html>not a runtime API</html>\n"u8.ToArray(), stop);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
        }
    }
}
