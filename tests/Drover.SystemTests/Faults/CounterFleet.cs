using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;

namespace Drover.SystemTests.Faults;

/// <summary>
/// What the fault tests do with the counter sample on a <see cref="Fleet"/>: define it, find its
/// instances through the aggregator, call it on its node's port, ask it to commit, find its state
/// directory on disk.
/// </summary>
internal sealed class CounterFleet(Fleet fleet) : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    // Calls longer than the agent's wait for an acknowledgement (30 s), so a commit the aggregator never
    // answers comes back as refused; a call that timed out is tried again.
    private readonly CounterClient _calls = new(callTimeout: TimeSpan.FromSeconds(60), upTimeout: Timeout, retryTimedOut: true);

    public Fleet Fleet => fleet;

    /// <summary>Defines the counter; <paramref name="isPublic"/>: callable through the gateway without a key.</summary>
    public async Task DeployAsync(int commitIntervalSeconds, bool isPublic = false)
    {
        var definition = new
        {
            runtime = new { type = "process", command = Repository.Counter },
            commitIntervalSeconds,
            @public = isPublic,
        };
        using var response = await fleet.Http.PutAsJsonAsync("/v1/functions/counter", definition);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Defines the counter autoscaled at exactly <paramref name="instances"/> instances (one per node), committing only when asked.</summary>
    public async Task DeployAutoscaledAsync(int instances)
    {
        var definition = new
        {
            runtime = new { type = "process", command = Repository.Counter },
            slo = 1000,
            margin = 0,
            minInstances = instances,
            maxInstances = instances,
            commitIntervalSeconds = 0,
        };
        using var response = await fleet.Http.PutAsJsonAsync("/v1/functions/counter", definition);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The live processes of each instance, across every agent's state directory: what the agents'
    /// runtime files name and the kernel still runs (a host's SIGKILLed instances are gone).
    /// </summary>
    public Dictionary<string, int> LiveCopies()
    {
        var copies = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var agent in System.IO.Directory.EnumerateDirectories(Path.Combine(fleet.Directory, "agents")))
        {
            foreach (var (instanceId, pid) in PidsOf(Path.GetFileName(agent)))
            {
                if (Alive(pid))
                {
                    copies[instanceId] = copies.GetValueOrDefault(instanceId) + 1;
                }
            }
        }

        return copies;
    }

    /// <summary>Each instance of <paramref name="agent"/>'s state directory with the pid its runtime file names.</summary>
    public IEnumerable<(string InstanceId, int Pid)> PidsOf(string agent)
    {
        var root = Path.Combine(fleet.Directory, "agents", agent, "state", "instances");
        if (!System.IO.Directory.Exists(root))
        {
            yield break;
        }

        foreach (var directory in System.IO.Directory.EnumerateDirectories(root))
        {
            int pid;
            try
            {
                pid = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "runtime.json"))).RootElement.GetProperty("Pid").GetInt32();
            }
            catch (Exception ex) when (ex is IOException or JsonException or KeyNotFoundException or UnauthorizedAccessException)
            {
                continue;
            }

            yield return (Path.GetFileName(directory), pid);
        }
    }

    /// <summary>A process that runs (not a zombie): its /proc status says so.</summary>
    public static bool Alive(int pid)
    {
        try
        {
            return pid > 0 && !File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    public async Task<JsonElement[]> InstancesAsync()
        => await fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances") ?? [];

    public async Task<JsonElement> WaitForInstanceAsync(Func<JsonElement, bool> condition, string what)
    {
        JsonElement found = default;
        await Fleet.WaitUntilAsync(
            async () =>
            {
                JsonElement[] match;
                try
                {
                    match = (await InstancesAsync()).Where(condition).ToArray();
                }
                catch (TaskCanceledException)
                {
                    return false; // a slow answer while the aggregator starts: asked again
                }

                if (match.Length == 0)
                {
                    return false;
                }

                found = match[0];
                return true;
            },
            Timeout,
            what,
            async () =>
            {
                try
                {
                    return JsonSerializer.Serialize(await InstancesAsync());
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return $"the aggregator does not answer: {ex.Message}";
                }
            });
        return found;
    }

    public static bool Running(JsonElement i) => i.GetProperty("state").GetString() == "running" && i.GetProperty("pid").GetInt32() > 0;

    public static string IdOf(JsonElement i) => i.GetProperty("instanceId").GetString()!;

    public static ulong StateVersionOf(JsonElement i) => i.GetProperty("stateVersion").GetUInt64();

    /// <summary>Waits until the aggregator reports a committed state version of <paramref name="id"/> above <paramref name="version"/>.</summary>
    public Task<JsonElement> WaitForStateVersionAboveAsync(string id, ulong version, string what)
        => WaitForInstanceAsync(i => IdOf(i) == id && StateVersionOf(i) > version, what);

    public Task<long> PostAsync(int port) => _calls.PostAsync(port);

    public Task<long> PostWhenUpAsync(int port) => _calls.PostWhenUpAsync(port);

    /// <summary>The counter's POST /commit (CommitNow over the agent's local socket): the committed version, or null with the answer.</summary>
    public async Task<(ulong? Version, string Answer)> CommitAsync(int port)
    {
        using var response = await _calls.Http.PostAsync($"http://127.0.0.1:{port}/commit", null);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode
            ? (JsonDocument.Parse(body).RootElement.GetProperty("committedVersion").GetUInt64(), body)
            : (null, body);
    }

    /// <summary>Asks for commits until one succeeds with a version above <paramref name="above"/>.</summary>
    public async Task<ulong> CommitAboveAsync(int port, ulong above, string what)
    {
        ulong version = 0;
        var last = "";
        await Fleet.WaitUntilAsync(
            async () =>
            {
                (var committed, last) = await CommitAsync(port);
                version = committed ?? 0;
                return committed > above;
            },
            Timeout,
            what,
            () => Task.FromResult(last));
        return version;
    }

    /// <summary>
    /// Counts <paramref name="times"/> times on the instance at <paramref name="port"/>, each count committed when asked
    /// (a version the aggregator acknowledged); returns the last count and its committed version.
    /// </summary>
    public async Task<(long Count, ulong Committed)> CountAndCommitAsync(int port, int times)
    {
        long count = 0;
        ulong committed = 0;
        for (var i = 0; i < times; i++)
        {
            count = await PostWhenUpAsync(port);
            committed = await CommitAboveAsync(port, committed, $"count {count} is committed");
        }

        return (count, committed);
    }

    /// <summary>
    /// Loses the host of <paramref name="home"/>, the node instance <paramref name="id"/> runs on (that of agent a1 or
    /// a2: see <see cref="Fleet.LoseHost"/>), and waits until the instance runs on the other node; returns it there.
    /// </summary>
    public Task<JsonElement> LoseHomeAsync(string id, string home)
    {
        fleet.LoseHost(fleet.NodeIdOf("a1") == home ? "a1" : "a2");
        return WaitForInstanceAsync(
            i => IdOf(i) == id && Running(i) && i.GetProperty("nodeId").GetString() != home,
            "the instance resumes on the other node");
    }

    public string StateDirectoryOf(string agent, string instanceId)
        => Path.Combine(fleet.Directory, "agents", agent, "state", "instances", instanceId, "state");

    public void Dispose() => _calls.Dispose();
}
