using System.Text.Json;
using Drover.Cli.Tests.Infrastructure;

namespace Drover.Cli.Tests.Commands;

public sealed class ApplyCommandTests : IDisposable
{
    private const string Three = """
        kind: function
        name: counter
        spec: {slo: 2}
        ---
        kind: service
        name: web
        spec: {instanceCount: 3}
        ---
        kind: cluster
        name: c1
        spec: {weight: 50}
        """;

    private readonly CliRun _cli = new();

    public void Dispose() => _cli.Dispose();

    private string File(string text)
    {
        var path = Path.Combine(_cli.Home, "apply.yaml");
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Apply_EveryDocument_PutInOrderAndReported()
    {
        await using var server = FakeAggregator.Answering(
            ("/v1/functions/counter", 201, """{"name":"counter"}"""),
            ("/v1/services/web", 200, """{"name":"web"}"""),
            ("/v1/clusters/c1", 200, """{"name":"c1"}"""));

        var result = await _cli.RunAsync("--url", server.Url, "--token", "adm", "apply", "-f", File(Three));

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Equal("function/counter created\nservice/web configured\ncluster/c1 configured\n", result.Out);
        var requests = server.Requests.ToArray();
        Assert.Equal(["PUT /v1/functions/counter", "PUT /v1/services/web", "PUT /v1/clusters/c1"], requests.Select(r => $"{r.Method} {r.PathAndQuery}"));
        Assert.Equal("""{"slo":2}""", requests[0].Body);
        Assert.Equal("""{"instanceCount":3}""", requests[1].Body);
        Assert.All(requests, r => Assert.Equal("Bearer adm", r.Authorization));
    }

    [Fact]
    public async Task Apply_Refused_StopsThereWithTheProblemDetailAndSendsNoMore()
    {
        await using var server = FakeAggregator.Answering(
            ("/v1/functions/counter", 200, """{"name":"counter"}"""),
            ("/v1/services/web", 400, """{"title":"Invalid service definition","status":400,"detail":"instanceCount = 0: expected 1-1000","field":"instanceCount"}"""),
            ("/v1/clusters/c1", 200, """{"name":"c1"}"""));

        var result = await _cli.RunAsync("--url", server.Url, "apply", "-f", File(Three));

        Assert.True(result.ExitCode == ExitCodes.Refused, result.ToString());
        Assert.Equal("function/counter configured\n", result.Out);
        Assert.Contains("service/web: the aggregator refused (400 Bad Request, Invalid service definition: instanceCount = 0: expected 1-1000 [field: instanceCount])", result.Error, StringComparison.Ordinal);
        Assert.Contains("1 later document was not sent (cluster/c1)", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Apply_ReadToken_Exits4()
    {
        await using var server = FakeAggregator.Answering(("/v1/functions/counter", 403, """{"title":"Forbidden","status":403,"detail":"Token 'ro' has role 'read'; PUT needs role 'admin'."}"""));

        var result = await _cli.RunAsync("--url", server.Url, "apply", "-f", File(Three));

        Assert.True(result.ExitCode == ExitCodes.TokenRefused, result.ToString());
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Apply_BadDocumentAnywhere_SendsNothing()
    {
        await using var server = FakeAggregator.Answering(("/v1/functions/counter", 200, "{}"));

        var result = await _cli.RunAsync("--url", server.Url, "apply", "-f", File(Three + "\n---\nkind: function\nname: Bad\nspec: {}\n"));

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("document 4", result.Error, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Apply_Stdin_ReadsTheDocuments()
    {
        await using var server = FakeAggregator.Answering(("/v1/clusters/c9", 200, """{"name":"c9","weight":7}"""));
        _cli.Stdin = """{"kind": "cluster", "name": "c9", "spec": {"weight": 7}}""";

        var result = await _cli.RunAsync("--url", server.Url, "-o", "json", "apply", "-f", "-");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Equal(7, JsonDocument.Parse(result.Out).RootElement.GetProperty("weight").GetInt32());
        Assert.Equal("""{"weight":7}""", Assert.Single(server.Requests).Body);
    }

    [Fact]
    public async Task Apply_MissingFile_Exits2()
    {
        var result = await _cli.RunAsync("--url", "http://127.0.0.1:1", "apply", "-f", Path.Combine(_cli.Home, "missing.yaml"));

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("missing.yaml: cannot be read", result.Error, StringComparison.Ordinal);
    }
}
