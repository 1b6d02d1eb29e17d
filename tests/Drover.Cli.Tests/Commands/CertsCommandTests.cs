using Drover.Cli.Tests.Infrastructure;

namespace Drover.Cli.Tests.Commands;

/// <summary><c>certs</c> runs a stand-in drover-aggregator (a shell script) and passes its arguments and exit code through.</summary>
public sealed class CertsCommandTests : IDisposable
{
    private readonly CliRun _cli = new();

    public void Dispose() => _cli.Dispose();

    /// <summary>A drover-aggregator in <paramref name="folder"/> that records its arguments beside itself and exits with <paramref name="code"/>.</summary>
    private static string StandIn(string folder, int code)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "drover-aggregator");
        File.WriteAllText(path, $"#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\nexit {code}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task Certs_BesideDroverctl_ArgumentsAsTheyAreAndItsExitCode()
    {
        var folder = Path.Combine(_cli.Home, "bin");
        StandIn(folder, 73);
        _cli.ExecutablePath = Path.Combine(folder, "droverctl");

        var result = await _cli.RunAsync("certs", "issue", "--node", "gpu-17", "--dir", "/tmp/x y", "--help", "-o");

        Assert.Equal(73, result.ExitCode);
        Assert.Equal("certs\nissue\n--node\ngpu-17\n--dir\n/tmp/x y\n--help\n-o\n", File.ReadAllText(Path.Combine(folder, "args")));
    }

    [Fact]
    public async Task Certs_OneFolderUp_TheBuildTreeLayout()
    {
        // make build: out/cli/droverctl and out/drover-aggregator.
        var outFolder = Path.Combine(_cli.Home, "out");
        StandIn(outFolder, 0);
        _cli.ExecutablePath = Path.Combine(outFolder, "cli", "droverctl");

        var result = await _cli.RunAsync("certs", "init");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("certs\ninit\n", File.ReadAllText(Path.Combine(outFolder, "args")));
    }

    [Fact]
    public async Task Certs_OnPath_Found()
    {
        var folder = Path.Combine(_cli.Home, "path");
        StandIn(folder, 64);
        _cli.ExecutablePath = Path.Combine(_cli.Home, "elsewhere", "droverctl");
        _cli.Environment["PATH"] = $"/nonexistent:{folder}";

        var result = await _cli.RunAsync("certs");

        Assert.Equal(64, result.ExitCode);
    }

    [Fact]
    public async Task Certs_Nowhere_Exits127SayingWhereItLooked()
    {
        _cli.ExecutablePath = Path.Combine(_cli.Home, "elsewhere", "droverctl");
        _cli.Environment["PATH"] = "/nonexistent";

        var result = await _cli.RunAsync("certs", "init");

        Assert.Equal(ExitCodes.CommandNotFound, result.ExitCode);
        Assert.Contains("no drover-aggregator is beside droverctl", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certs_AfterGlobalOptions_StillPassedThrough()
    {
        var folder = Path.Combine(_cli.Home, "bin");
        StandIn(folder, 0);
        _cli.ExecutablePath = Path.Combine(folder, "droverctl");

        var result = await _cli.RunAsync("--timeout", "5", "certs", "issue", "--node", "n1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("certs\nissue\n--node\nn1\n", File.ReadAllText(Path.Combine(folder, "args")));
    }
}
