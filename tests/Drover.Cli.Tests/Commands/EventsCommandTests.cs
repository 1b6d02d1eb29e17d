using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Cli.Tests.Infrastructure;

namespace Drover.Cli.Tests.Commands;

public sealed class EventsCommandTests : IDisposable
{
    private const string Accepted = """{"channel":"function/counter","sequence":1,"function":"counter","callId":"c-1","status":"accepted","method":"POST","path":"/","headers":{},"nodeId":"n1","instanceId":"","statusCode":0,"durationMs":0,"reason":"","at":"2025-01-01T00:00:05+00:00"}""";
    private const string Health = """{"channel":"cluster/c1","sequence":1,"cluster":"c1","from":"unknown","to":"healthy","survivors":1,"minSurvivors":1,"total":1,"servedBy":[],"reason":"first seen","at":"2025-01-01T00:00:01+00:00"}""";

    private readonly CliRun _cli = new();
    private readonly TaskCompletionSource _release = new();

    public void Dispose()
    {
        _release.TrySetResult();
        _cli.Dispose();
    }

    /// <summary>A server whose /v1/events sends <paramref name="stream"/>, then holds the connection (or ends it when <paramref name="end"/>).</summary>
    private FakeAggregator Server(string stream, bool end = false, params (string Path, string Json)[] others)
        => new(async context =>
        {
            var path = context.Request.Url!.AbsolutePath;
            if (path != "/v1/events")
            {
                var (_, json) = others.FirstOrDefault(o => o.Path == path);
                await FakeAggregator.WriteAsync(context, json is null ? 404 : 200, json ?? "{}");
                return;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            context.Response.SendChunked = true;
            var bytes = Encoding.UTF8.GetBytes(stream);
            await context.Response.OutputStream.WriteAsync(bytes);
            await context.Response.OutputStream.FlushAsync();
            if (!end)
            {
                await _release.Task;
            }

            context.Response.Close();
        });

    private static string Sse(string id, string name, string data) => $"id: {id}\nevent: {name}\ndata: {data}\n\n";

    [Fact]
    public async Task Events_NoFollow_KeptHistoryOfTheNamedChannelThenExitsOnceQuiet()
    {
        await using var server = Server(Sse("function/counter:1", "accepted", Accepted));
        var clock = Stopwatch.StartNew();

        var result = await _cli.RunAsync("--url", server.Url, "events", "--function", "counter");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("function/counter#1  accepted  c-1", result.Out, StringComparison.Ordinal);
        Assert.Equal("/v1/events?function=counter&after=", Assert.Single(server.Requests).PathAndQuery);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Events_NoFollowNoChannel_EveryDefinedChannelOldestFirst()
    {
        await using var server = Server(
            Sse("function/counter:1", "accepted", Accepted) + Sse("cluster/c1:1", "cluster-health", Health),
            end: false,
            ("/v1/functions", """[{"name":"counter"}]"""),
            ("/v1/services", """[{"name":"web"}]"""),
            ("/v1/clusters", """{"degraded":false,"clusters":[{"name":"c1"}]}"""));

        var result = await _cli.RunAsync("--url", server.Url, "events", "-o", "json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("/v1/events?function=counter&decisions=counter&service=web&cluster=c1&after=", server.Requests.Select(r => r.PathAndQuery));
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(["cluster-health", "accepted"], lines.Select(l => l.GetProperty("event").GetString()));
        Assert.Equal("cluster/c1:1", lines[0].GetProperty("id").GetString());
        Assert.Equal("first seen", lines[0].GetProperty("data").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Events_Follow_PrintsUntilTheStreamEndsThenExits3()
    {
        await using var server = Server(Sse("function/counter:1", "accepted", Accepted), end: true);

        var result = await _cli.RunAsync("--url", server.Url, "events", "--follow", "--function", "counter", "--cluster", "c1");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("function/counter#1", result.Out, StringComparison.Ordinal);
        Assert.Contains("ended the event stream", result.Error, StringComparison.Ordinal);
        Assert.Equal("/v1/events?function=counter&cluster=c1&after=", Assert.Single(server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Events_FollowNoChannel_EveryChannelLiveOnly()
    {
        await using var server = Server("", end: true);

        await _cli.RunAsync("--url", server.Url, "events", "-f");

        Assert.Equal("/v1/events", Assert.Single(server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Events_Disconnected_Exits1WithTheReason()
    {
        await using var server = Server("event: disconnected\ndata: {\"reason\":\"1024 messages behind\"}\n\n");

        var result = await _cli.RunAsync("--url", server.Url, "events", "--follow");

        Assert.True(result.ExitCode == ExitCodes.Refused, result.ToString());
        Assert.Contains("1024 messages behind", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_BadName_Exits2AndSendsNothing()
    {
        await using var server = Server("");

        var result = await _cli.RunAsync("--url", server.Url, "events", "--function", "Not_A_Name");

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Events_Refused_ExitsWithTheRefusal()
    {
        await using var server = new FakeAggregator(context => FakeAggregator.WriteAsync(context, (int)HttpStatusCode.ServiceUnavailable, """{"title":"Too many event subscribers","detail":"256 event streams are open"}""", "application/problem+json"));

        var result = await _cli.RunAsync("--url", server.Url, "events", "--follow");

        Assert.True(result.ExitCode == ExitCodes.Refused, result.ToString());
        Assert.Contains("256 event streams are open", result.Error, StringComparison.Ordinal);
    }
}
