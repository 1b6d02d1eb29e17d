using System.Net;
using BenchmarkDotNet.Attributes;
using Drover.Decisions.Routing;
using Drover.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Drover.Benchmarks.Gateway;

/// <summary>
/// What the gateway costs per request: the node choice alone (<see cref="RouteChoice.Pick"/> over 3
/// clusters × 10 nodes), and a GET through an in-process gateway to an in-process Kestrel echo "shim"
/// against the same GET sent to the echo server directly (both over loopback with keep-alive), so the
/// difference of the two is the gateway's added latency.
/// </summary>
/// <remarks>A short job (1 launch, 5 warm-up and 15 measured iterations) so the suite fits a 2-core machine.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class GatewayBenchmarks
{
    private const int DrawCount = 1024;
    private readonly double[] _draws = new double[DrawCount];
    private readonly Func<string, int> _outstanding = id => id.Length & 3;
    private readonly HashSet<string> _exclude = new(StringComparer.Ordinal) { "c0-n0" };
    private RoutingTable _table = RoutingTable.Empty;
    private int _next;
    private WebApplication? _echo;
    private WebApplication? _gateway;
    private HttpClient _direct = null!;
    private HttpClient _proxied = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var random = new Random(42);
        for (var i = 0; i < DrawCount; i++)
        {
            _draws[i] = random.NextDouble();
        }

        var clusters = Enumerable.Range(0, 3).Select(c => new RouteCluster($"c{c}", c == 0 ? 0.5 : 0.25,
            Enumerable.Range(0, 10).Select(n => new RouteNode($"c{c}-n{n}", $"c{c}", n, 100 + (n % 3 * 50), n % 2, $"10.0.{c}.{n}:7000")).ToArray())).ToArray();
        var hosts = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
        {
            ["counter"] = clusters.SelectMany(c => c.Nodes).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal),
        };
        _table = new RoutingTable(1, clusters, hosts, false, "benchmark");

        _echo = Host(_ => { });
        _echo.Run(context =>
        {
            context.Response.Headers["X-Drover-Node"] = "echo";
            context.Response.ContentLength = 2;
            return context.Response.WriteAsync("ok");
        });
        await _echo.StartAsync();
        var echoAddress = new Uri(_echo.Urls.First());

        _gateway = Host(services => services.AddDroverGateway());
        _gateway.MapDroverGateway();
        await _gateway.StartAsync();
        var node = new RouteNode("echo", "a", 1, 100, 0, echoAddress.Authority);
        _gateway.Services.GetRequiredService<GatewayRoutingTable>().Update(new RoutingTable(1, [new RouteCluster("a", 1, [node])],
            new Dictionary<string, IReadOnlySet<string>> { ["counter"] = new HashSet<string> { "echo" } }, false, "benchmark"));

        _direct = Client(echoAddress);
        _proxied = Client(new Uri(_gateway.Urls.First()));
        (await _proxied.GetAsync("/v1/invoke/counter/run")).EnsureSuccessStatusCode();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _direct.Dispose();
        _proxied.Dispose();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_echo is not null)
        {
            await _echo.DisposeAsync();
        }
    }

    [Benchmark]
    public RouteNode? Pick()
    {
        var i = _next = (_next + 2) & (DrawCount - 1);
        return RouteChoice.Pick(_table, "counter", _draws[i], _draws[i + 1], _outstanding).Node;
    }

    [Benchmark]
    public RouteNode? PickExcludingFailedNode()
    {
        var i = _next = (_next + 2) & (DrawCount - 1);
        return RouteChoice.Pick(_table, "counter", _draws[i], _draws[i + 1], _outstanding, _exclude).Node;
    }

    [Benchmark]
    public async Task<int> GetDirect() => await SendAsync(_direct, "/v1/invoke/counter/run");

    [Benchmark]
    public async Task<int> GetThroughGateway() => await SendAsync(_proxied, "/v1/invoke/counter/run");

    private static async Task<int> SendAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseContentRead);
        return (int)response.StatusCode;
    }

    private static WebApplication Host(Action<IServiceCollection> services)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        services(builder.Services);
        return builder.Build();
    }

    private static HttpClient Client(Uri address) => new(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = address,
    };
}
