using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Configuration;

/// <summary>A bad or missing configuration value stops a program at start with one line and exit code 78.</summary>
public sealed class StartupTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Fleet _fleet = new(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Theory]
    [InlineData(new string[0], "drover-agent: configuration error: serverNumber = ''")]
    [InlineData(new[] { "--serverNumber", "1", "--port", "99999" }, "drover-agent: configuration error: port = '99999'")]
    [InlineData(new[] { "--serverNumber", "1", "--aggregators:0", "nowhere" }, "drover-agent: configuration error: aggregators:0 = 'nowhere'")]
    [InlineData(new[] { "--serverNumber", "1", "--config", "/nonexistent/agent.json" }, "drover-agent: configuration error: config = '/nonexistent/agent.json'")]
    [InlineData(new[] { "--serverNumber", "1", "--insecure", "true", "--metricsTokenFile", "/nonexistent/scrape.token" }, "drover-agent: configuration error: metricsTokenFile = '/nonexistent/scrape.token': ")]
    [InlineData(new[] { "--serverNumber", "1", "--insecure", "true", "--metricsTokenFile", "/dev/null" }, "drover-agent: configuration error: metricsTokenFile = '/dev/null': the file is empty")]
    public async Task Agent_BadConfiguration_ExitsWith78AndOneLine(string[] args, string expectedLine)
    {
        var dir = Path.Combine(_fleet.Directory, "bad-agent");
        await using var agent = ChildProcess.Start(
            Repository.Agent,
            [.. args, "--stateDirectory", Path.Combine(dir, "state"), "--logFile", ""],
            Path.Combine(_fleet.Directory, "bad-agent.log"));

        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(78, exitCode);
        var line = Assert.Single(agent.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(expectedLine, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aggregator_BadConfiguration_ExitsWith78AndOneLine()
    {
        await using var aggregator = ChildProcess.Start(
            Repository.Aggregator,
            ["--missedHeartbeats", "0", "--dataDirectory", Path.Combine(_fleet.Directory, "data"), "--logFile", ""],
            Path.Combine(_fleet.Directory, "bad-aggregator.log"));

        var exitCode = await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(78, exitCode);
        var line = Assert.Single(aggregator.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("drover-aggregator: configuration error: missedHeartbeats = '0': expected a whole number from 1 to 100", line);
    }
}
