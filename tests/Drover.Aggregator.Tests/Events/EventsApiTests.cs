using System.Net;
using System.Text.Json;
using Drover.Aggregator.Events;
using Drover.Aggregator.Placement;
using Drover.Protocol.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Events;

/// <summary><c>GET /v1/events</c> on a real aggregator host on loopback ports, read as a client reads it.</summary>
public sealed class EventsApiTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private readonly FakeTimeProvider _time = new();
    private TestAggregator? _aggregator;

    private EventHub Hub => _aggregator!.Hub;

    private HttpClient Client => _aggregator!.Http;

    public async Task InitializeAsync() => _aggregator = await TestAggregator.StartAsync(_time);

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    [Fact]
    public async Task Events_ReconnectWithLastEventId_ResumesWithoutGapOrDuplicate()
    {
        Hub.Publish(EventHubTests.Event("function/counter", "before"));
        List<SseMessage> first;
        await using (var stream = await SseStream.OpenAsync(Client, "/v1/events?function=counter", lastEventId: null))
        {
            for (var i = 0; i < 3; i++)
            {
                Hub.Publish(EventHubTests.Event("function/counter", $"c{i}", RequestStatus.Completed));
                Hub.Publish(EventHubTests.Event("function/other", $"o{i}"));
            }

            first = await stream.ReadAsync(3);
        }

        // Published while no one listens: kept in the history.
        Hub.Publish(EventHubTests.Event("function/counter", "gap-1"));
        Hub.Publish(EventHubTests.Event("function/counter", "gap-2"));
        List<SseMessage> second;
        await using (var stream = await SseStream.OpenAsync(Client, "/v1/events?function=counter", first[^1].Id))
        {
            Hub.Publish(EventHubTests.Event("function/counter", "after"));
            second = await stream.ReadAsync(3);
        }

        Assert.Equal(["function/counter:2", "function/counter:3", "function/counter:4"], first.Select(m => m.Id));
        Assert.All(first, m => Assert.Equal("completed", m.Event));
        var data = first[0].Data.RootElement;
        Assert.Equal("function/counter", data.GetProperty("channel").GetString());
        Assert.Equal(2, data.GetProperty("sequence").GetInt64());
        Assert.Equal("counter", data.GetProperty("function").GetString());
        Assert.Equal("c0", data.GetProperty("callId").GetString());
        Assert.Equal("POST", data.GetProperty("method").GetString());
        Assert.Equal([5L, 6, 7], second.Select(m => m.Data.RootElement.GetProperty("sequence").GetInt64()));
        Assert.Equal(["gap-1", "gap-2", "after"], second.Select(m => m.Data.RootElement.GetProperty("callId").GetString()));
    }

    [Fact]
    public async Task Events_AllChannelsWithCallIdAndAfter_CursorNamesEveryChannelSeen()
    {
        Hub.Publish(EventHubTests.Event("function/a", "x"));
        Hub.Publish(EventHubTests.Event("service/web", "x"));
        Hub.Publish(EventHubTests.Event("service/web", "y"));
        await using var stream = await SseStream.OpenAsync(Client, "/v1/events?callId=x&after=function/a:0,service/web:0", lastEventId: null);

        var got = await stream.ReadAsync(2);

        // The stream's cursor starts as the one it resumed from; advancing a channel moves it last.
        Assert.Equal(["service/web:0,function/a:1", "function/a:1,service/web:1"], got.Select(m => m.Id));
        Assert.Equal("web", got[1].Data.RootElement.GetProperty("service").GetString());
    }

    [Fact]
    public async Task Events_Decisions_EachFunctionRecordOnItsChannelAsTheDecisionsApiShowsIt()
    {
        var scale = new DecisionRecord(DateTimeOffset.UnixEpoch.AddDays(1), "scale", "counter", null, null, null, null, "queue length 8", "start 3",
            new { queueLength = 8, candidates = new[] { new { rank = 1, nodeId = "n2" } } });
        await using var stream = await SseStream.OpenAsync(Client, "/v1/events?decisions=counter", lastEventId: null);
        await using var all = await SseStream.OpenAsync(Client, "/v1/events", lastEventId: null);

        // A service's set is not a function: its records stay in the log only.
        _aggregator!.Decisions.Add(scale with { Function = "service/web" });
        _aggregator.Decisions.Add(scale with { Function = "other" });
        _aggregator.Decisions.Add(scale);
        _aggregator.Decisions.Add(scale with { Kind = "start", InstanceId = "counter-1", ToNodeId = "n2", Inputs = null });
        var got = await stream.ReadAsync(2);
        var everything = await all.ReadAsync(3);

        Assert.Equal(["decisions/counter:1", "decisions/counter:2"], got.Select(m => m.Id));
        Assert.All(got, m => Assert.Equal("decision", m.Event));
        var data = got[0].Data.RootElement;
        Assert.Equal("decisions/counter", data.GetProperty("channel").GetString());
        Assert.Equal("counter", data.GetProperty("function").GetString());
        var api = _aggregator.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        Assert.Equal(JsonSerializer.Serialize(scale, api), data.GetProperty("decision").GetRawText());
        Assert.Equal(8, data.GetProperty("decision").GetProperty("inputs").GetProperty("queueLength").GetInt32());
        Assert.Equal("counter-1", got[1].Data.RootElement.GetProperty("decision").GetProperty("instanceId").GetString());
        Assert.Equal(["decisions/other", "decisions/counter", "decisions/counter"], everything.Select(m => m.Data.RootElement.GetProperty("channel").GetString()));

        // Resumable like every channel.
        await using var resumed = await SseStream.OpenAsync(Client, "/v1/events?decisions=counter", got[0].Id);
        Assert.Equal("decisions/counter:2", (await resumed.ReadAsync(1))[0].Id);
    }

    [Fact]
    public async Task Events_QuietStream_KeepAliveCommentEveryFifteenSeconds()
    {
        await using var stream = await SseStream.OpenAsync(Client, "/v1/events", lastEventId: null);

        _time.Advance(TimeSpan.FromSeconds(14));
        Hub.Publish(EventHubTests.Event("function/a"));
        var beforeInterval = await stream.ReadLineAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        var lines = new List<string>();
        while (lines.Count == 0 || lines[^1] != ": keep-alive")
        {
            lines.Add(await stream.ReadLineAsync());
        }

        Assert.Equal("id: function/a:1", beforeInterval);
        Assert.DoesNotContain(lines, l => l.StartsWith(':') && l != ": keep-alive");
    }

    [Theory]
    [InlineData("function=Counter", "function")]
    [InlineData("service=-web", "service")]
    [InlineData("decisions=Counter", "decisions")]
    [InlineData("callId=", "callId")]
    [InlineData("after=function/a", "after")]
    public async Task Events_BadQuery_Answers400NamingTheParameter(string query, string parameter)
    {
        using var response = await Client.GetAsync($"/v1/events?{query}").WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        Assert.Equal(parameter, problem.RootElement.GetProperty("parameter").GetString());
    }

    [Fact]
    public async Task Events_BadLastEventId_Answers400NamingTheHeader()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        request.Headers.Add("Last-Event-ID", "nonsense");
        using var response = await Client.SendAsync(request).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Last-Event-ID", await response.Content.ReadAsStringAsync().WaitAsync(Timeout), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_SubscriberLimitReached_Answers503NamingTheLimitUntilOneLeaves()
    {
        var held = new List<EventSubscriber>();
        try
        {
            while (Hub.SubscriberCount < Hub.MaxSubscribers)
            {
                held.Add(Hub.Subscribe(EventFilter.AllChannels));
            }

            using var refused = await Client.GetAsync("/v1/events").WaitAsync(Timeout);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(refused.Headers.RetryAfter);
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync().WaitAsync(Timeout));
            Assert.Equal("maxEventSubscribers", problem.RootElement.GetProperty("limit").GetString());
            Assert.Equal(256, problem.RootElement.GetProperty("maxEventSubscribers").GetInt32());
            Assert.Contains("256", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);

            held[0].Dispose();
            await using var admitted = await SseStream.OpenAsync(Client, "/v1/events", lastEventId: null);
            Hub.Publish(EventHubTests.Event("function/a"));
            Assert.Equal("function/a:1", (await admitted.ReadAsync(1))[0].Id);
        }
        finally
        {
            held.ForEach(h => h.Dispose());
        }
    }

    internal sealed record SseMessage(string Id, string Event, JsonDocument Data);

    /// <summary>A text/event-stream response read line by line, every read bounded.</summary>
    internal sealed class SseStream : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;

        private SseStream(HttpResponseMessage response, StreamReader reader)
        {
            _response = response;
            _reader = reader;
        }

        public static async Task<SseStream> OpenAsync(HttpClient client, string path, string? lastEventId)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (lastEventId is not null)
            {
                request.Headers.Add("Last-Event-ID", lastEventId);
            }

            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Timeout);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var body = await response.Content.ReadAsStreamAsync().WaitAsync(Timeout);
            return new SseStream(response, new StreamReader(body));
        }

        public async Task<string> ReadLineAsync()
            => await _reader.ReadLineAsync().WaitAsync(Timeout) ?? throw new IOException("the event stream ended");

        public async Task<List<SseMessage>> ReadAsync(int count)
        {
            var messages = new List<SseMessage>();
            string? id = null, kind = null, data = null;
            while (messages.Count < count)
            {
                var line = await ReadLineAsync();
                if (line.Length == 0)
                {
                    if (data is not null)
                    {
                        messages.Add(new SseMessage(id ?? "", kind ?? "message", JsonDocument.Parse(data)));
                    }

                    (id, kind, data) = (null, null, null);
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    kind = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line[6..];
                }
            }

            return messages;
        }

        public ValueTask DisposeAsync()
        {
            _reader.Dispose();
            _response.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
