using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 21 under systemd (Type=notify, WatchdogSec): an aggregator that starts as a follower on PostgreSQL says READY=1
/// once it serves and keeps the watchdog fed while it follows, and says nothing of stopping when it becomes the leader
/// (the follower it was hands over to the leader it became, in one process). The test binds the notify socket itself,
/// as systemd would. Skipped, saying why, only where PostgreSQL is not installed.
/// </summary>
[Trait("Category", "Faults")]
[Trait("Suite", HighAvailabilitySuite.Name)]
public sealed class FollowerUnderSystemdTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Fleet _fleet = new(output);
    private readonly PostgresStore _postgres = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [SkippableFact]
    public async Task Follower_UnderSystemd_ReadyAndWatchdogWhileFollowing_NoStoppingWhenElected()
    {
        Skip.If(PostgresServer.MissingReason is not null, PostgresServer.MissingReason);
        var onPostgres = await PostgresStore.ArgsAsync(Path.Combine(_fleet.Directory, "postgres.conn"), await _postgres.StartAsync());
        var leader = _fleet.StartAggregator(onPostgres);
        await WaitForLeaderAsync(_fleet.HttpPort, "leader", "the first aggregator leads");

        // systemd's side: the notify socket, and a watchdog of 2 s (kept alive every second).
        var socketPath = Path.Combine(_fleet.Directory, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var notes = new ConcurrentQueue<(DateTime At, string Text)>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            while (!stop.IsCancellationRequested)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                notes.Enqueue((DateTime.UtcNow, Encoding.UTF8.GetString(buffer, 0, read)));
            }
        });

        var (http, link) = (Ports.Free(), Ports.Free());
        _fleet.StartAggregatorAt("follower", http, link, new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "2000000" }, onPostgres);
        await Fleet.WaitUntilAsync(() => Task.FromResult(notes.Any(n => n.Text.Contains("READY=1", StringComparison.Ordinal))), TimeSpan.FromSeconds(60), "the follower says READY=1");
        await WaitForLeaderAsync(http, "follower", "the second aggregator follows");
        var ready = notes.First(n => n.Text.Contains("READY=1", StringComparison.Ordinal)).At;
        await Fleet.WaitUntilAsync(() => Task.FromResult(notes.Count(n => n.Text.Contains("WATCHDOG=1", StringComparison.Ordinal) && n.At > ready) >= 3), TimeSpan.FromSeconds(30), "the follower keeps the watchdog fed");

        // The leader dies; the follower takes over in the same process: no STOPPING=1, and the watchdog goes on.
        leader.Kill();
        await WaitForLeaderAsync(http, "leader", "the follower becomes the leader");
        var elected = DateTime.UtcNow;
        await Fleet.WaitUntilAsync(() => Task.FromResult(notes.Count(n => n.Text.Contains("WATCHDOG=1", StringComparison.Ordinal) && n.At > elected) >= 3), TimeSpan.FromSeconds(30), "the new leader keeps the watchdog fed");
        await stop.CancelAsync();
        await reader.ContinueWith(static _ => { }, TaskScheduler.Default);
        output.WriteLine(string.Join(Environment.NewLine, notes.Select(n => $"{n.At:HH:mm:ss.fff} {n.Text.ReplaceLineEndings(" ")}")));
        Assert.DoesNotContain(notes, n => n.Text.Contains("STOPPING=1", StringComparison.Ordinal));
    }

    private async Task WaitForLeaderAsync(int httpPort, string role, string what)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _fleet.ReadToken);
        await Fleet.WaitUntilAsync(
            async () =>
            {
                using var response = await client.GetAsync("/v1/leader");
                return response.IsSuccessStatusCode
                    && await response.Content.ReadFromJsonAsync<JsonElement>() is var answer
                    && answer.GetProperty("role").GetString() == role
                    && answer.GetProperty("leader").ValueKind == JsonValueKind.Object;
            },
            TimeSpan.FromSeconds(60),
            what);
    }
}
