using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;

namespace Drover.SystemTests.Shims;

/// <summary>What the shim tests share: a fleet of agents whose ports they call, and workloads defined on it.</summary>
internal sealed class ShimFleet(Fleet fleet)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    public Fleet Fleet { get; } = fleet;

    /// <summary>Node id to shim port of every agent started through <see cref="StartAgentsAsync"/>.</summary>
    public Dictionary<string, int> Ports { get; } = new(StringComparer.Ordinal);

    public async Task StartAgentsAsync(int count)
    {
        var started = new List<(string Name, int Port)>();
        for (var i = 1; i <= count; i++)
        {
            var port = Infrastructure.Ports.Free();
            Fleet.StartAgent($"a{i}", serverNumber: i, port: port, extraArgs: ["--shimListenAddress", "127.0.0.1"]);
            started.Add(($"a{i}", port));
        }

        await Fleet.WaitForAliveCountAsync(count, Timeout);
        foreach (var (name, port) in started)
        {
            Ports[Fleet.NodeIdOf(name)] = port;
        }
    }

    public async Task PutAsync(string path, object definition)
    {
        using var response = await Fleet.Http.PutAsJsonAsync(path, definition);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task<JsonElement> GetAsync(string path) => await Fleet.Http.GetFromJsonAsync<JsonElement>(path);

    /// <summary>Waits until <paramref name="path"/> (a function or service) shows <paramref name="count"/> ready instances.</summary>
    public Task WaitForReadyAsync(string path, int count, Func<JsonElement, bool>? which = null)
        => Fleet.WaitUntilAsync(
            async () => (await GetAsync(path)).GetProperty("instances").EnumerateArray().Count(i => i.GetProperty("ready").GetBoolean() && (which?.Invoke(i) ?? true)) >= count,
            Timeout,
            $"{path} has {count} ready instances",
            async () => (await GetAsync(path)).ToString());

    public static object Counter(int slo = 4, int queueLength = 64, params string[] env) => new
    {
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
