using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Shims;

/// <summary>
/// Who may invoke a function that is not public, with the real processes: the gateway and every node's
/// shim refuse a caller without its key; a key made through the API reaches the shims in the
/// instances' specs (no restart) and serves at both doors; a key removed is refused again at both.
/// (That an instance never sees the key is ShimServerTests', which can look at what it received.)
/// </summary>
[Trait("Category", "Attacks")]
public sealed class InvocationKeyTests(ITestOutputHelper output) : ShimTestBase(output)
{
    private const string KeyHeader = "X-Drover-Api-Key";

    [Fact]
    public async Task PrivateFunction_KeyMadeThenRemoved_BothDoorsFollow()
    {
        await StartAgentsAsync(2);
        await PutAsync("/v1/functions/counter", new { runtime = new { type = "process", command = Repository.Counter }, commitIntervalSeconds = 0 });
        await WaitForReadyAsync("/v1/functions/counter", 2);

        // No key yet: refused at the gateway and straight at each node.
        Assert.Equal(HttpStatusCode.Unauthorized, await GatewayAsync(null));
        foreach (var port in Ports.Values)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await ShimAsync(port, null));
        }

        // A key: the gateway takes it at once; each shim once its instance's spec was sent again.
        string id, key;
        using (var made = await Fleet.Http.PostAsJsonAsync("/v1/keys", new { function = "counter" }))
        {
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
            var body = await made.Content.ReadFromJsonAsync<JsonElement>();
            (id, key) = (body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
        }

        Assert.Equal(HttpStatusCode.OK, await GatewayAsync(key));
        Assert.Equal(HttpStatusCode.Forbidden, await GatewayAsync("drk_guessed"));
        foreach (var port in Ports.Values)
        {
            await Drover.SystemTests.Infrastructure.Fleet.WaitUntilAsync(async () => await ShimAsync(port, key) == HttpStatusCode.OK, Timeout, $"the shim on port {port} serves the new key");
            Assert.Equal(HttpStatusCode.Forbidden, await ShimAsync(port, "drk_guessed"));
        }

        // Removed: refused again at both doors.
        using (var removed = await Fleet.Http.DeleteAsync($"/v1/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, await GatewayAsync(key));
        foreach (var port in Ports.Values)
        {
            await Drover.SystemTests.Infrastructure.Fleet.WaitUntilAsync(async () => await ShimAsync(port, key) == HttpStatusCode.Forbidden, Timeout, $"the shim on port {port} refuses the removed key");
        }
    }

    private async Task<HttpStatusCode> GatewayAsync(string? key) => await SendAsync($"http://127.0.0.1:{Fleet.HttpPort}/v1/invoke/counter", key);

    private async Task<HttpStatusCode> ShimAsync(int port, string? key) => await SendAsync($"http://127.0.0.1:{port}/v1/invoke/counter", key);

    private async Task<HttpStatusCode> SendAsync(string url, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        if (key is not null)
        {
            request.Headers.Add(KeyHeader, key);
        }

        using var response = await Client.SendAsync(request);
        return response.StatusCode;
    }
}
