using Drover.Cli.Tests.Infrastructure;

namespace Drover.Cli.Tests.Api;

/// <summary>What each outcome exits with, against a fake aggregator on loopback (README: "droverctl", exit codes).</summary>
public sealed class ExitCodeTests : IDisposable
{
    private const string Nodes = """[{"nodeId":"n1","cluster":"c1","serverNumber":1,"survival":"alive","survives":true}]""";

    private readonly CliRun _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Nodes_Answered_ExitsZeroAndSendsTheToken()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 200, Nodes));
        _cli.Environment["DROVER_TOKEN"] = "drv_secret";

        var result = await _cli.RunAsync("--url", server.Url, "nodes");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("n1", result.Out, StringComparison.Ordinal);
        Assert.Equal("Bearer drv_secret", Assert.Single(server.Requests).Authorization);
    }

    [Fact]
    public async Task NoToken_Refused401_Exits4SayingNoneWasGivenAndHowToSetIt()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 401, """{"title":"Unauthorized","status":401,"detail":"The management API needs 'Authorization: Bearer <token>': no token."}"""));

        var result = await _cli.RunAsync("--url", server.Url, "nodes");

        Assert.True(result.ExitCode == ExitCodes.TokenRefused, result.ToString());
        Assert.Contains("none was given", result.Error, StringComparison.Ordinal);
        Assert.Contains("DROVER_TOKEN", result.Error, StringComparison.Ordinal);
        Assert.Contains("401", result.Error, StringComparison.Ordinal);
        Assert.Null(Assert.Single(server.Requests).Authorization);
    }

    [Fact]
    public async Task WrongToken_Refused401_Exits4NamingWhereTheTokenCameFrom()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 401, """{"title":"Unauthorized","status":401,"detail":"unknown token"}"""));
        _cli.Environment["DROVER_TOKEN"] = "drv_wrong";

        var result = await _cli.RunAsync("--url", server.Url, "nodes");

        Assert.True(result.ExitCode == ExitCodes.TokenRefused, result.ToString());
        Assert.Contains("refused the token from DROVER_TOKEN", result.Error, StringComparison.Ordinal);
        Assert.Contains("unknown token", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("drv_wrong", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadToken_Refused403_Exits4SayingAdminIsNeeded()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes/n1/drain", 403, """{"title":"Forbidden","status":403,"detail":"Token 'ro' has role 'read'; POST needs role 'admin'."}"""));

        var result = await _cli.RunAsync("--url", server.Url, "--token", "t", "drain", "n1");

        Assert.True(result.ExitCode == ExitCodes.TokenRefused, result.ToString());
        Assert.Contains("403", result.Error, StringComparison.Ordinal);
        Assert.Contains("role 'admin'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownFunction_404_Exits5WithTheProblem()
    {
        await using var server = FakeAggregator.Answering(("/v1/functions/nope", 404, """{"title":"No such function","status":404,"detail":"No function named 'nope' is defined."}"""));

        var result = await _cli.RunAsync("--url", server.Url, "function", "nope");

        Assert.True(result.ExitCode == ExitCodes.NotFound, result.ToString());
        Assert.Contains("No function named 'nope' is defined.", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeNotConnected_409_Exits1WithTheProblemDetail()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes/n1/drain", 409, """{"title":"Node not connected","status":409,"detail":"Node 'n1' has no open stream to this aggregator."}"""));

        var result = await _cli.RunAsync("--url", server.Url, "drain", "n1");

        Assert.True(result.ExitCode == ExitCodes.Refused, result.ToString());
        Assert.Contains("409 Conflict, Node not connected: Node 'n1' has no open stream to this aggregator.", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerError_500_Exits1()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 500, "oops"));

        var result = await _cli.RunAsync("--url", server.Url, "nodes");

        Assert.True(result.ExitCode == ExitCodes.Refused, result.ToString());
        Assert.Contains("500", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClosedPort_Exits3NamingTheUrlAndHowToSetIt()
    {
        var port = ClosedPort();
        _cli.Environment["DROVER_URL"] = $"http://127.0.0.1:{port}";

        var result = await _cli.RunAsync("nodes");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains($"cannot reach the aggregator at http://127.0.0.1:{port}/", result.Error, StringComparison.Ordinal);
        Assert.Contains("Connection refused", result.Error, StringComparison.Ordinal);
        Assert.Contains("is from DROVER_URL", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task NameThatDoesNotResolve_Exits3()
    {
        var result = await _cli.RunAsync("--url", "http://no-such-host.invalid:7400", "--timeout", "5", "nodes");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("no-such-host.invalid", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoAnswerWithinTimeout_Exits3NamingTheTimeout()
    {
        var never = new TaskCompletionSource();
        await using var server = new FakeAggregator(_ => never.Task);

        var result = await _cli.RunAsync("--url", server.Url, "--timeout", "0.3", "nodes");
        never.SetResult();

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("did not answer within 0.3 s", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswerNotJson_Exits1AskingWhetherItIsAnAggregator()
    {
        await using var server = new FakeAggregator(context => FakeAggregator.WriteAsync(context, 200, "<html>hello</html>", "text/html"));

        var result = await _cli.RunAsync("--url", server.Url, "nodes");

        Assert.True(result.ExitCode == ExitCodes.Refused, result.ToString());
        Assert.Contains("is not JSON (text/html)", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nodes", "extra")]
    [InlineData("no-such-command")]
    [InlineData("nodes", "-o", "yaml")]
    [InlineData("function")]
    [InlineData("apply")]
    [InlineData()]
    public async Task BadCommandLine_Exits2AndSendsNothing(params string[] args)
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 200, Nodes));
        _cli.Environment["DROVER_URL"] = server.Url;

        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task BadUrl_Exits2()
    {
        var result = await _cli.RunAsync("--url", "127.0.0.1:7400", "nodes");

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("from --url", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExitsZeroAndStatesPrecedenceAndExitCodes()
    {
        var result = await _cli.RunAsync("--help");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("--url/--token; $DROVER_URL/$DROVER_TOKEN;", result.Out, StringComparison.Ordinal);
        Assert.Contains("5 not found (404)", result.Out, StringComparison.Ordinal);
    }

    /// <summary>A loopback port nothing listens on (handed out once in this run).</summary>
    private static int ClosedPort() => Drover.Testing.Ports.Free();
}
