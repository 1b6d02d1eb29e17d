using System.Diagnostics;
using System.Net;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Access;

/// <summary>The real binaries: a token made by <c>drover-aggregator tokens add</c> opens the management API, and nothing else does.</summary>
[Trait("Category", "Attacks")]
public sealed class ApiTokensTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Fleet _fleet = new(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task TokensAdd_PrintedTokenOpensTheApi_NoneOrAWrongOneIs401AndLogged()
    {
        var file = Path.Combine(_fleet.Directory, "cli-tokens.json");
        var (code, token, error) = await RunCliAsync("tokens", "add", "--name", "ops", "--role", "admin", "--file", file);
        output.WriteLine(error);
        Assert.Equal(0, code);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(file), StringComparison.Ordinal);

        // The fleet's own tokens file is replaced by the CLI's (the later --apiTokensFile wins).
        var aggregator = _fleet.StartAggregator("--apiTokensFile", file);
        using var admin = _fleet.ClientWith(token);
        using var anonymous = _fleet.ClientWith(null);
        using var stranger = _fleet.ClientWith(_fleet.AdminToken);
        await Fleet.WaitUntilAsync(async () => (await admin.GetAsync("/v1/nodes")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the aggregator answers the printed token");

        using var none = await anonymous.GetAsync("/v1/functions/nobody-defined-this");
        using var wrong = await stranger.PutAsync("/v1/functions/f", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var log = Path.Combine(_fleet.Directory, "aggregator", "aggregator.log");
        await Fleet.WaitUntilAsync(
            () => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains("'/v1/functions/f'", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            "the refusal is logged");
        var logged = await File.ReadAllTextAsync(log);
        Assert.Contains("was refused 401: no bearer token", logged, StringComparison.Ordinal);
        Assert.Contains("was refused 401: the bearer token is not one of the configured tokens", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(_fleet.AdminToken, logged, StringComparison.Ordinal);
        Assert.False(aggregator.HasExited);
    }

    [Fact]
    public async Task Aggregator_TokensFileOthersMayWrite_ExitsWith78NamingTheKey()
    {
        File.SetUnixFileMode(_fleet.TokensFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);
        await using var aggregator = ChildProcess.Start(
            Repository.Aggregator,
            ["--apiTokensFile", _fleet.TokensFile, "--dataDirectory", Path.Combine(_fleet.Directory, "data"), "--logFile", ""],
            Path.Combine(_fleet.Directory, "bad-aggregator.log"));

        var exitCode = await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(78, exitCode);
        var line = Assert.Single(aggregator.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"drover-aggregator: configuration error: apiTokensFile = '{_fleet.TokensFile}': group or others may write it", line, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunCliAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Repository.Aggregator) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, (await stdout).Trim(), await stderr);
    }
}
