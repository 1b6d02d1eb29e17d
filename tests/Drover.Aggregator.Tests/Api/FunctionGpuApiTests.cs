using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Tests.Events;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Api;

/// <summary>A function definition's <c>gpu</c> through <c>PUT</c> and <c>GET /v1/functions/{name}</c> on an in-process aggregator.</summary>
public sealed class FunctionGpuApiTests(ITestOutputHelper output) : AggregatorTestBase(output)
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string name, string? json = null)
    {
        using var request = new HttpRequestMessage(method, $"/v1/functions/{name}");
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await Aggregator.Http.SendAsync(request).WaitAsync(Timeout);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return (response.StatusCode, body.RootElement.Clone());
    }

    [Theory]
    [InlineData(", \"gpu\": \"mig:1g.10gb\"", "mig:1g.10gb")]
    [InlineData(", \"gpu\": \"whole\"", "whole")]
    [InlineData("", "any")]
    public async Task Put_Gpu_IsReturnedAndReadBack(string field, string expected)
    {
        var (put, created) = await SendAsync(HttpMethod.Put, "f", $$"""{"runtime": {"command": "/bin/true"}, "maxInstances": 2{{field}}}""");
        var (_, read) = await SendAsync(HttpMethod.Get, "f");

        Assert.Equal(HttpStatusCode.Created, put);
        Assert.Equal(expected, created.GetProperty("gpu").GetString());
        Assert.Equal(expected, read.GetProperty("gpu").GetString());
    }

    [Theory]
    [InlineData("""{"runtime": {"command": "/bin/true"}, "maxInstances": 2, "gpu": "mig:"}""", "expected 'any' (a whole GPU or a MIG instance), 'whole'")]
    [InlineData("""{"runtime": {"command": "/bin/true"}, "gpu": "whole"}""", "applies to placement 'autoscale'")]
    [InlineData("""{"runtime": {"command": "/bin/true"}, "placement": "every-node", "gpu": "mig"}""", "applies to placement 'autoscale'")]
    public async Task Put_BadGpu_400NamingGpuNothingStored(string json, string detail)
    {
        var (status, problem) = await SendAsync(HttpMethod.Put, "f", json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("gpu", problem.GetProperty("field").GetString());
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "f")).Status);
    }
}
