using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Access;
using Drover.Aggregator.Api;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Aggregator.Tests.Events;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Access;

/// <summary>
/// The management API's trust boundary, attacked from outside on a real host: no token, a wrong one,
/// a read token on a write, probing for what exists, and reading secrets back.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class ApiAccessTests(ITestOutputHelper output) : AggregatorTestBase(output)
{
    /// <summary>Every management endpoint (method, path), with names that exist nowhere: a refusal must come first.</summary>
    public static TheoryData<string, string> ManagementEndpoints => new()
    {
        { "GET", "/v1/nodes" },
        { "GET", "/v1/nodes/n1" },
        { "PUT", "/v1/nodes/n1" },
        { "DELETE", "/v1/nodes/n1" },
        { "GET", "/v1/nodes/n1/gpus" },
        { "POST", "/v1/nodes/n1/drain" },
        { "POST", "/v1/nodes/n1/resume" },
        { "GET", "/v1/clusters" },
        { "GET", "/v1/clusters/c1" },
        { "PUT", "/v1/clusters/c1" },
        { "GET", "/v1/clusters/c1/history" },
        { "GET", "/v1/cluster-groups" },
        { "PUT", "/v1/cluster-groups/g1" },
        { "GET", "/v1/functions" },
        { "GET", "/v1/functions/f1" },
        { "PUT", "/v1/functions/f1" },
        { "DELETE", "/v1/functions/f1" },
        { "GET", "/v1/functions/f1/instances" },
        { "GET", "/v1/functions/f1/decisions" },
        { "GET", "/v1/services" },
        { "GET", "/v1/services/s1" },
        { "PUT", "/v1/services/s1" },
        { "DELETE", "/v1/services/s1" },
        { "GET", "/v1/services/s1/decisions" },
        { "GET", "/v1/events" },
        { "GET", "/v1/keys" },
        { "POST", "/v1/keys" },
        { "DELETE", "/v1/keys/key-1" },
        { "PATCH", "/v1/functions/f1" },
        { "GET", "/v1/no-such-endpoint" },
    };

    /// <summary>The endpoints that change something.</summary>
    public static TheoryData<string, string> Writes => new()
    {
        { "PUT", "/v1/nodes/n1" },
        { "DELETE", "/v1/nodes/n1" },
        { "POST", "/v1/nodes/n1/drain" },
        { "POST", "/v1/nodes/n1/resume" },
        { "PUT", "/v1/clusters/c1" },
        { "PUT", "/v1/cluster-groups/g1" },
        { "PUT", "/v1/functions/f1" },
        { "DELETE", "/v1/functions/f1" },
        { "PUT", "/v1/services/s1" },
        { "DELETE", "/v1/services/s1" },
        { "POST", "/v1/keys" },
        { "DELETE", "/v1/keys/key-1" },
        { "PATCH", "/v1/functions/f1" },
    };

    [Theory]
    [MemberData(nameof(ManagementEndpoints))]
    public async Task ManagementEndpoint_NoToken_401ProblemWithBearerChallenge(string method, string path)
    {
        using var client = Aggregator.ClientWith(null);

        using var response = await SendAsync(client, method, path);

        await AssertRefusedAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer realm=\"drover\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [MemberData(nameof(ManagementEndpoints))]
    public async Task ManagementEndpoint_WrongToken_401InvalidToken(string method, string path)
    {
        using var client = Aggregator.ClientWith(ApiTokenFile.NewToken());

        using var response = await SendAsync(client, method, path);

        await AssertRefusedAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task Write_ReadToken_403Problem(string method, string path)
    {
        using var client = Aggregator.ClientWith(Aggregator.ReadToken);

        using var response = await SendAsync(client, method, path);

        await AssertRefusedAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ManagementEndpoint_NotBearerScheme_401()
    {
        using var client = Aggregator.ClientWith(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + Aggregator.AdminToken)));

        using var response = await SendAsync(client, "GET", "/v1/nodes");

        await AssertRefusedAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task UnknownFunction_NoToken_401Not404_ReadToken_404()
    {
        using var anonymous = Aggregator.ClientWith(null);
        using var reader = Aggregator.ClientWith(Aggregator.ReadToken);

        using var refused = await anonymous.GetAsync("/v1/functions/nobody-defined-this");
        using var answered = await reader.GetAsync("/v1/functions/nobody-defined-this");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, answered.StatusCode);
    }

    [Fact]
    public async Task Reads_ReadToken_Served()
    {
        using var reader = Aggregator.ClientWith(Aggregator.ReadToken);

        foreach (var path in new[] { "/v1/nodes", "/v1/clusters", "/v1/cluster-groups", "/v1/functions", "/v1/services" })
        {
            using var response = await reader.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} with a read token answered {(int)response.StatusCode}");
        }
    }

    /// <summary>
    /// Invocations are not the management API's: a public function passes with no token at all, and a
    /// management token (even admin) is no key for a private one.
    /// </summary>
    [Fact]
    public async Task GatewayInvocation_NeedsTheWorkloadsKey_NotAnApiToken()
    {
        using (var put = await Aggregator.Http.PutAsync("/v1/functions/open", Json("""{"runtime": {"command": "/bin/true"}, "public": true}""")))
        {
            put.EnsureSuccessStatusCode();
        }

        await Aggregator.DefineFunctionAsync("closed");
        using var anonymous = Aggregator.ClientWith(null);

        // No node runs either: past the check, the gateway itself answers 503.
        using var open = await anonymous.PostAsync("/v1/invoke/open", new StringContent("x"));
        using var closed = await Aggregator.Http.PostAsync("/v1/invoke/closed", new StringContent("x"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, open.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, closed.StatusCode);
    }

    /// <summary>A guard on the endpoint list above: every /v1 endpoint that is not the gateway's requires the policy.</summary>
    [Fact]
    public void EveryV1Endpoint_ButTheGateway_RequiresTheManagementPolicy()
    {
        var endpoints = Aggregator.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1", StringComparison.Ordinal) == true)
            .Where(e => !e.Metadata.Any(m => m.GetType().Namespace?.StartsWith("Yarp.", StringComparison.Ordinal) == true))
            .ToArray();

        Assert.True(endpoints.Length >= 20, $"only {endpoints.Length} management endpoints found");
        Assert.All(endpoints, e => Assert.Contains(
            e.Metadata.GetOrderedMetadata<IAuthorizeData>(),
            a => a.Policy == ApiAccessServiceCollectionExtensions.Policy));
    }

    [Fact]
    public async Task Refusals_LoggedNamingTheCause_NeverTheToken()
    {
        var wrong = ApiTokenFile.NewToken();
        using (var anonymous = Aggregator.ClientWith(null))
        using (var stranger = Aggregator.ClientWith(wrong))
        using (var reader = Aggregator.ClientWith(Aggregator.ReadToken))
        {
            (await anonymous.GetAsync("/v1/nodes")).Dispose();
            (await stranger.GetAsync("/v1/functions")).Dispose();
            (await reader.DeleteAsync("/v1/functions/f1")).Dispose();
        }

        var unauthenticated = Logged.Named("ApiUnauthenticated").Select(Render).ToArray();
        var forbidden = Render(Assert.Single(Logged.Named("ApiForbidden")));
        Assert.Contains(unauthenticated, m => m.Contains("/v1/nodes", StringComparison.Ordinal) && m.Contains("no bearer token", StringComparison.Ordinal));
        Assert.Contains(unauthenticated, m => m.Contains("/v1/functions", StringComparison.Ordinal) && m.Contains("not one of the configured tokens", StringComparison.Ordinal));
        Assert.Contains("DELETE", forbidden, StringComparison.Ordinal);
        Assert.Contains("test-read", forbidden, StringComparison.Ordinal);
        Assert.DoesNotContain(Logged.Events.Select(Render), m => m.Contains(wrong, StringComparison.Ordinal) || m.Contains(Aggregator.ReadToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FunctionEnv_NeverReturned_AndGetThenPutKeepsIt()
    {
        const string Secret = "s3cret-value-never-shown";
        using (var put = await Aggregator.Http.PutAsync("/v1/functions/f1", Json($$"""{"runtime": {"command": "/bin/true", "env": {"DB_PASSWORD": "{{Secret}}", "MODE": "fast"} } }""")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.DoesNotContain(Secret, await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var list = await Aggregator.Http.GetStringAsync("/v1/functions");
        var one = await Aggregator.Http.GetStringAsync("/v1/functions/f1");
        Assert.DoesNotContain(Secret, list, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, one, StringComparison.Ordinal);
        Assert.Equal(HiddenEnv.Marker, JsonDocument.Parse(one).RootElement.GetProperty("runtime").GetProperty("env").GetProperty("DB_PASSWORD").GetString());

        // The document read back, one setting changed, written back: the secret stays as stored.
        var changed = one.Replace("\"slo\":1", "\"slo\":2", StringComparison.Ordinal);
        Assert.NotEqual(one, changed);
        using (var again = await Aggregator.Http.PutAsync("/v1/functions/f1", Json(changed)))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        var stored = Aggregator.Services.GetRequiredService<FunctionRegistry>().Find("f1")!;
        Assert.Equal(2, stored.Slo);
        Assert.Equal(Secret, stored.Runtime.Env["DB_PASSWORD"]);
        Assert.Equal("fast", stored.Runtime.Env["MODE"]);
    }

    [Fact]
    public async Task FunctionEnv_MarkerForANameNotStored_400NamingTheField()
    {
        using var put = await Aggregator.Http.PutAsync("/v1/functions/f2", Json($$"""{"runtime": {"command": "/bin/true", "env": {"TOKEN": "{{HiddenEnv.Marker}}"} } }"""));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("runtime.env.TOKEN", JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("field").GetString());
        Assert.Null(Aggregator.Services.GetRequiredService<FunctionRegistry>().Find("f2"));
    }

    [Fact]
    public async Task ServiceEnv_NeverReturned_AndGetThenPutKeepsIt()
    {
        const string Secret = "another-secret-never-shown";
        using (var put = await Aggregator.Http.PutAsync("/v1/services/s1", Json($$"""{"runtime": {"command": "/bin/true", "env": {"API_KEY": "{{Secret}}"} } }""")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.DoesNotContain(Secret, await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var list = await Aggregator.Http.GetStringAsync("/v1/services");
        var one = await Aggregator.Http.GetStringAsync("/v1/services/s1");
        Assert.DoesNotContain(Secret, list, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, one, StringComparison.Ordinal);

        using (var again = await Aggregator.Http.PutAsync("/v1/services/s1", Json(one)))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(Secret, Aggregator.Services.GetRequiredService<ServiceRegistry>().Find("s1")!.Definition.Runtime.Env["API_KEY"]);
    }

    [Fact]
    public async Task ManagementApi_MoreThanApiRequestsPerMinute_429ProblemWithRetryAfter_GatewayNotCounted()
    {
        await using var limited = await TestAggregator.StartAsync(configure: o => o.ApiRequestsPerMinute = 3, logger: Logged.CreateLogger());
        using var anonymous = limited.ClientWith(null);

        // Refused requests count too: a token guesser is limited like anyone.
        for (var i = 0; i < 3; i++)
        {
            using var counted = await anonymous.GetAsync("/v1/nodes");
            Assert.Equal(HttpStatusCode.Unauthorized, counted.StatusCode);
        }

        using var invoke = await anonymous.PostAsync("/v1/invoke/counter", new StringContent("x"));
        using var refused = await limited.Http.GetAsync("/v1/nodes");

        Assert.NotEqual(HttpStatusCode.TooManyRequests, invoke.StatusCode);
        await AssertRefusedAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"Retry-After: {refused.Headers.RetryAfter}");
        Assert.Single(Logged.Named("ApiRateLimited"));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "PUT" or "POST" or "PATCH")
        {
            request.Content = Json("""{"runtime": {"command": "/bin/true"}, "weight": 1, "mode": "all-masters"}""");
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestAggregator.Timeout);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(TestAggregator.Timeout));
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Render(Serilog.Events.LogEvent e) => e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture);
}
