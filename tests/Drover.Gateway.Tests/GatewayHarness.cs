using System.Net;
using System.Net.Sockets;
using Drover.Decisions.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Drover.Gateway.Tests;

/// <summary>
/// A real Kestrel host on 127.0.0.1:0 serving the gateway (and, like the aggregator, a management
/// endpoints <c>GET /v1/services/{name}</c> and <c>GET /v1/services/{name}/decisions</c>), with scripted draws and a client for it.
/// </summary>
internal sealed class GatewayHarness : IAsyncDisposable
{
    /// <summary>The bound on every await of these tests.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;
    private readonly Queue<double> _draws = new();

    private GatewayHarness(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
        Table = app.Services.GetRequiredService<GatewayRoutingTable>();
        Load = app.Services.GetRequiredService<GatewayLoad>();
    }

    public HttpClient Client { get; }

    public GatewayRoutingTable Table { get; }

    public GatewayLoad Load { get; }

    /// <summary>The next draws, in order (each pick takes two: the cluster's, then the node's); 0 once they run out.</summary>
    public void Draw(params double[] draws)
    {
        lock (_draws)
        {
            foreach (var draw in draws)
            {
                _draws.Enqueue(draw);
            }
        }
    }

    public static async Task<GatewayHarness> StartAsync(ITestOutputHelper output)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new TestOutputLoggerProvider(output, "gateway"));
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        Queue<double>? draws = null;
        builder.Services.AddSingleton(_ => new GatewayRandom(() =>
        {
            lock (draws!)
            {
                return draws.Count > 0 ? draws.Dequeue() : 0;
            }
        }));
        builder.Services.AddDroverGateway();
        var app = builder.Build();
        app.MapGet("/v1/services/{name}", (string name) => $"management {name}");
        app.MapGet("/v1/services/{name}/decisions", (string name) => $"decisions of {name}");
        app.MapDroverGateway();
        await app.StartAsync().WaitAsync(Bound);
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = Bound };
        var harness = new GatewayHarness(app, client);
        draws = harness._draws;
        return harness;
    }

    /// <summary>A port on loopback nothing listens on: connecting is refused.</summary>
    public static string DeadEndpoint()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return $"127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}";
    }

    public static RouteNode Node(string id, string cluster, string endpoint, int server = 1, int weight = 100, int priority = 0)
        => new(id, cluster, server, weight, priority, endpoint);

    /// <summary>A table whose workloads are all hosted by every node listed.</summary>
    public static RoutingTable TableOf(long version, IReadOnlyList<RouteCluster> clusters, bool degraded = false, params string[] workloads)
    {
        var ids = clusters.SelectMany(c => c.Nodes).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        var hosts = (workloads.Length == 0 ? ["counter"] : workloads).ToDictionary(w => w, IReadOnlySet<string> (_) => ids, StringComparer.Ordinal);
        return new RoutingTable(version, clusters, hosts, degraded, degraded ? "no cluster is healthy; serving from 'b'" : "every cluster is healthy");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}
