using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Shims;

/// <summary>
/// What the shim tests share: a real aggregator started for each test, agents whose ports they call,
/// workloads defined on it, and a client bounded in time.
/// </summary>
public abstract class ShimTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    internal ITestOutputHelper Output { get; } = output;

    internal Fleet Fleet { get; } = new(output);

    internal HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The aggregator's process, for what it logs; null until the test starts.</summary>
    internal ChildProcess? Aggregator { get; private set; }

    public async Task InitializeAsync()
    {
        Aggregator = Fleet.StartAggregator();
        await Fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Fleet.DisposeAsync();
    }

    /// <summary>Reads the server-sent events of <c>/v1/events?<paramref name="query"/></c> until <paramref name="enough"/> says so (or the time runs out); returns (id, data) pairs.</summary>
    internal async Task<List<(string Id, JsonElement Data)>> ReadEventsAsync(string query, string? lastEventId, Func<List<(string Id, JsonElement Data)>, bool> enough)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{Fleet.HttpPort}/v1/events?{query}");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Fleet.ReadToken);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<(string, JsonElement)>();
        string? id = null;
        while (!enough(events) && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                id = line[3..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                events.Add((id!, JsonDocument.Parse(line[5..]).RootElement.Clone()));
            }
        }

        return events;
    }

    /// <summary>Node id to shim port of every agent started through <see cref="StartAgentsAsync"/>.</summary>
    internal Dictionary<string, int> Ports { get; } = new(StringComparer.Ordinal);

    internal async Task StartAgentsAsync(int count, params string[] extraArgs)
    {
        var started = new List<(string Name, int Port)>();
        for (var i = 1; i <= count; i++)
        {
            var port = Drover.Testing.Ports.Free();
            Fleet.StartAgent($"a{i}", serverNumber: i, port: port, extraArgs: ["--shimListenAddress", "127.0.0.1", .. extraArgs]);
            started.Add(($"a{i}", port));
        }

        await Fleet.WaitForAliveCountAsync(count, Timeout);
        foreach (var (name, port) in started)
        {
            Ports[Fleet.NodeIdOf(name)] = port;
        }
    }

    internal async Task PutAsync(string path, object definition)
    {
        using var response = await Fleet.Http.PutAsJsonAsync(path, definition);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    internal async Task<JsonElement> GetAsync(string path) => await Fleet.Http.GetFromJsonAsync<JsonElement>(path);

    /// <summary>Waits until <paramref name="path"/> (a function or service) shows <paramref name="count"/> ready instances.</summary>
    internal Task WaitForReadyAsync(string path, int count, Func<JsonElement, bool>? which = null)
        => Fleet.WaitUntilAsync(
            async () => (await GetAsync(path)).GetProperty("instances").EnumerateArray().Count(i => i.GetProperty("ready").GetBoolean() && (which?.Invoke(i) ?? true)) >= count,
            Timeout,
            $"{path} has {count} ready instances",
            async () => (await GetAsync(path)).ToString());

    /// <summary>The counter sample as a function, public (these tests call the shims straight; keys have their own tests).</summary>
    internal static object Counter(int slo = 4, int queueLength = 64, params string[] env) => new
    {
        @public = true,
        runtime = new
        {
            type = "process",
            command = Repository.Counter,
            env = env.Select(e => e.Split('=', 2)).ToDictionary(e => e[0], e => e[1]),
        },
        slo,
        queueLength,
        commitIntervalSeconds = 0,
    };
}
