using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.Http;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Access;

/// <summary>
/// Invocation keys on a real host: made and removed through <c>/v1/keys</c>, checked by the gateway
/// before it looks for a node. No node runs here, so a request that passes the check gets the
/// gateway's own 503; one that does not gets 401 (no key) or 403 (a key that is not the workload's),
/// the same whether or not the workload exists.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class InvocationKeysTests(ITestOutputHelper output) : AggregatorTestBase(output)
{
    [Fact]
    public async Task Invoke_PrivateFunction_NoKey401_WrongKey403_ItsKeyPasses_AnotherFunctionsKey403()
    {
        await Aggregator.DefineFunctionAsync("counter");
        await Aggregator.DefineFunctionAsync("other");
        var key = await MakeKeyAsync("function", "counter");
        var otherKey = await MakeKeyAsync("function", "other");

        using var none = await InvokeAsync("counter", null);
        using var wrong = await InvokeAsync("counter", "drk_guessed");
        using var others = await InvokeAsync("counter", otherKey.Key);
        using var token = await InvokeAsync("counter", Aggregator.AdminToken);
        using var right = await InvokeAsync("counter", key.Key);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("unauthorized", (await BodyAsync(none)).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, others.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, token.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, right.StatusCode);
        Assert.Equal(4, Logged.Named("GatewayInvocationRefused").Count);
    }

    [Fact]
    public async Task Invoke_UndefinedFunction_RefusedLikeAPrivateOne()
    {
        await Aggregator.DefineFunctionAsync("counter");

        using var undefinedNoKey = await InvokeAsync("nothing-here", null);
        using var definedNoKey = await InvokeAsync("counter", null);
        using var undefinedKey = await InvokeAsync("nothing-here", "drk_guessed");
        using var definedKey = await InvokeAsync("counter", "drk_guessed");

        Assert.Equal(HttpStatusCode.Unauthorized, undefinedNoKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, undefinedKey.StatusCode);
        Assert.Equal(await TextAsync(definedNoKey), await TextAsync(undefinedNoKey));
        Assert.Equal(await TextAsync(definedKey), await TextAsync(undefinedKey));
    }

    [Fact]
    public async Task Invoke_PublicFunctionAndService_PassWithoutKey()
    {
        using (var put = await Aggregator.Http.PutAsync("/v1/functions/open", Json("""{"runtime": {"command": "/bin/true"}, "public": true}""")))
        {
            put.EnsureSuccessStatusCode();
        }

        using (var put = await Aggregator.Http.PutAsync("/v1/services/web", Json("""{"runtime": {"command": "/bin/true"}, "public": true}""")))
        {
            put.EnsureSuccessStatusCode();
        }

        using var function = await InvokeAsync("open", null);
        using var service = await Aggregator.ClientWith(null).GetAsync("/v1/services/web/items");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, function.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, service.StatusCode);
    }

    [Fact]
    public async Task ServiceKey_PassesForItsService_Only()
    {
        using (var put = await Aggregator.Http.PutAsync("/v1/services/web", Json("""{"runtime": {"command": "/bin/true"}}""")))
        {
            put.EnsureSuccessStatusCode();
        }

        var key = await MakeKeyAsync("service", "web");
        using var anonymous = Aggregator.ClientWith(null);
        using var none = await anonymous.GetAsync("/v1/services/web/items");
        using var keyed = await SendWithKeyAsync(HttpMethod.Get, "/v1/services/web/items", key.Key);
        using var asFunction = await InvokeAsync("web", key.Key);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, keyed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, asFunction.StatusCode);
    }

    [Fact]
    public async Task Keys_ListedWithoutSecret_DeletedKeyRefused_DeletedFunctionTakesItsKeys()
    {
        await Aggregator.DefineFunctionAsync("counter");
        var first = await MakeKeyAsync("function", "counter");
        var second = await MakeKeyAsync("function", "counter");

        var listed = await Aggregator.ClientWith(Aggregator.ReadToken).GetStringAsync("/v1/keys?function=counter");
        Assert.Contains(first.Id, listed);
        Assert.Contains(second.Id, listed);
        Assert.DoesNotContain(first.Key, listed);
        Assert.DoesNotContain("sha256", listed);
        var onDisk = await File.ReadAllTextAsync(Path.Combine(Aggregator.Options.DataDirectory, "invocation-keys.json"));
        Assert.DoesNotContain(first.Key, onDisk);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Aggregator.Options.DataDirectory, "invocation-keys.json")));

        using (var delete = await Aggregator.Http.DeleteAsync($"/v1/keys/{first.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using var deleted = await InvokeAsync("counter", first.Key);
        using var kept = await InvokeAsync("counter", second.Key);
        Assert.Equal(HttpStatusCode.Forbidden, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, kept.StatusCode);

        // Deleted and defined again: a new function, with none of the old one's keys.
        (await Aggregator.Http.DeleteAsync("/v1/functions/counter")).Dispose();
        await Aggregator.DefineFunctionAsync("counter");
        using var old = await InvokeAsync("counter", second.Key);
        Assert.Equal(HttpStatusCode.Forbidden, old.StatusCode);
        Assert.Equal("[]", await Aggregator.Http.GetStringAsync("/v1/keys?function=counter"));
    }

    [Fact]
    public async Task Keys_SurviveARestart()
    {
        await Aggregator.DefineFunctionAsync("counter");
        var key = await MakeKeyAsync("function", "counter");

        await Aggregator.RestartAsync();

        using var right = await InvokeAsync("counter", key.Key);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, right.StatusCode);
    }

    [Theory]
    [InlineData("""{"function": "nothing-here"}""", HttpStatusCode.NotFound)]
    [InlineData("""{"service": "nothing-here"}""", HttpStatusCode.NotFound)]
    [InlineData("""{"function": "counter", "service": "web"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"function": 7}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"function": "counter", "key": "drk_mine"}""", HttpStatusCode.BadRequest)]
    [InlineData("""not json""", HttpStatusCode.BadRequest)]
    public async Task MakeKey_BadRequest_RefusedAndNothingMade(string body, HttpStatusCode expected)
    {
        await Aggregator.DefineFunctionAsync("counter");

        using var response = await Aggregator.Http.PostAsync("/v1/keys", Json(body));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("[]", await Aggregator.Http.GetStringAsync("/v1/keys"));
    }

    private async Task<(string Id, string Key)> MakeKeyAsync(string kind, string name)
    {
        using var response = await Aggregator.Http.PostAsync("/v1/keys", Json($$"""{"{{kind}}": "{{name}}"}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await BodyAsync(response);
        var key = body.GetProperty("key").GetString()!;
        Assert.StartsWith("drk_", key);
        return (body.GetProperty("id").GetString()!, key);
    }

    private Task<HttpResponseMessage> InvokeAsync(string function, string? key) => SendWithKeyAsync(HttpMethod.Post, $"/v1/invoke/{function}", key);

    private async Task<HttpResponseMessage> SendWithKeyAsync(HttpMethod method, string path, string? key)
    {
        using var client = Aggregator.ClientWith(null);
        using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Get ? null : new StringContent("x") };
        if (key is not null)
        {
            request.Headers.Add(DroverHeaders.ApiKey, key);
        }

        return await client.SendAsync(request);
    }

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => (await response.Content.ReadFromJsonAsync<JsonElement>())!;

    private static async Task<string> TextAsync(HttpResponseMessage response) => await response.Content.ReadAsStringAsync();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
