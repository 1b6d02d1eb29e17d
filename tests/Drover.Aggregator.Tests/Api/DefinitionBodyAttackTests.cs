using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Api;
using Drover.Aggregator.Tests.Events;
using Serilog.Events;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Api;

/// <summary>
/// Issue 14: bodies of <c>PUT /v1/functions/{name}</c> and <c>PUT /v1/services/{name}</c> that are not a
/// definition (<see cref="DefinitionBody"/>), sent to a real in-process aggregator: malformed JSON,
/// fields of the wrong type, JSON a parser may choke on, a body over the limit with or without a
/// declared length. Each is answered 400 with problem details naming the field, nothing is stored, and
/// nothing is logged as a failure: a client's bad body is the client's fault.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class DefinitionBodyAttackTests(ITestOutputHelper output) : AggregatorTestBase(output)
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    /// <summary>The kind of definition (the path segment), a body, and the field the refusal must name.</summary>
    public static TheoryData<string, string, string> BadBodies()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var kind in new[] { "functions", "services" })
        {
            data.Add(kind, """{"runtime": """, "body");
            data.Add(kind, """{"runtime": {"type": "process", "command": "/bin/true"}""", "body");
            data.Add(kind, """{'runtime': 1}""", "body");
            data.Add(kind, "[1, 2]", "$");
            data.Add(kind, "\"a string\"", "$");
            data.Add(kind, "null", "body");
            data.Add(kind, "", "body");
            data.Add(kind, """{"slo": "many"}""", "$.slo");
            data.Add(kind, """{"slo": 1e400}""", "$.slo");
            data.Add(kind, """{"slo": 99999999999}""", "$.slo");
            data.Add(kind, """{"timeoutMs": 1.5}""", "$.timeoutMs");
            data.Add(kind, """{"runtime": "/bin/true"}""", "$.runtime");
            data.Add(kind, """{"runtime": {"command": ["/bin/true"]}}""", "$.runtime.command");
            data.Add(kind, """{"version": null}""", "$.version");
            data.Add(kind, """{"eventHeaders": {"a": 1}}""", "$.eventHeaders");
            data.Add(kind, """{"unknownField": 1}""", "$.unknownField");
            data.Add(kind, """{"version": "1", "version": "2"}""", "body");
            data.Add(kind, """{"version": "\ud800"}""", "body");
            data.Add(kind, new string('[', 1000) + new string(']', 1000), "body");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Put_MalformedOrMistypedBody_400NamingTheFieldNothingStoredNothingLogged(string kind, string body, string field)
    {
        await AssertRefusedAsync(kind, new StringContent(body, Encoding.UTF8, "application/json"), field);
    }

    [Theory]
    [InlineData("functions")]
    [InlineData("services")]
    public async Task Put_BodyNotUtf8_400NothingStoredNothingLogged(string kind)
    {
        // A definition valid but for two bytes that are not UTF-8 in its version (the parser would
        // read them as U+FFFD, and a function's version takes any character).
        await AssertRefusedAsync(kind, Json([.. "{\"runtime\": {\"command\": \"/bin/true\"}, \"version\": \""u8, 0xC3, 0x28, .. "\"}"u8]), "body", detail: "not UTF-8");
    }

    [Theory]
    [InlineData("functions", true)]
    [InlineData("functions", false)]
    [InlineData("services", true)]
    [InlineData("services", false)]
    public async Task Put_BodyOverTheLimit_400NothingStoredNothingLogged(string kind, bool declaredLength)
    {
        // Valid JSON all the way: only its size is wrong.
        var json = Encoding.UTF8.GetBytes($$"""{"version": "{{new string('1', DefinitionBody.MaxBodyBytes)}}"}""");

        await AssertRefusedAsync(kind, Json(json), "body", chunked: !declaredLength, detail: $"expected at most {DefinitionBody.MaxBodyBytes}");
    }

    private static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task AssertRefusedAsync(string kind, HttpContent content, string field, bool chunked = false, string? detail = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/{kind}/attacked") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await Aggregator.Http.SendAsync(request).WaitAsync(Timeout);
        var text = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        Output.WriteLine($"{(int)response.StatusCode} {text}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(field, problem.RootElement.GetProperty("field").GetString());
        if (detail is not null)
        {
            Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using var stored = await Aggregator.Http.GetAsync($"/v1/{kind}/attacked").WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.NotFound, stored.StatusCode);
        Assert.False(File.Exists(Path.Combine(Aggregator.Options.DataDirectory, $"{kind}.json")), $"{kind}.json was written");
        Assert.DoesNotContain(Logged.Events, e => e.Level >= LogEventLevel.Error);
    }
}
