using System.Diagnostics;
using Drover.SystemTests.Infrastructure;

namespace Drover.SystemTests.Packaging;

/// <summary>
/// The shipped units pass <c>systemd-analyze verify</c> with nothing to say (an unknown or misspelt key is only a
/// warning to it, so any output fails), checked in a scratch root that has the system's own units and the programs
/// at the paths the units name; and they keep the hardening the README promises.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private static readonly string[] Units = ["drover-agent.service", "drover-aggregator.service"];

    private readonly string _root = Directory.CreateTempSubdirectory("drover-units-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Units_SystemdAnalyzeVerify_SaysNothing()
    {
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        Assert.True(analyze is not null, "systemd-analyze is missing: make test installs the systemd package where apt-get can (Makefile, test-tools)");

        var system = Path.Combine(_root, "lib", "systemd", "system");
        Directory.CreateDirectory(system);
        foreach (var unit in Directory.EnumerateFiles("/lib/systemd/system"))
        {
            File.Copy(unit, Path.Combine(system, Path.GetFileName(unit)));
        }

        Directory.CreateDirectory(Path.Combine(_root, "usr", "bin"));
        foreach (var program in new[] { "drover-agent", "drover-aggregator" })
        {
            var path = Path.Combine(_root, "usr", "bin", program);
            File.Copy("/bin/true", path);
        }

        foreach (var unit in Units)
        {
            File.Copy(Path.Combine(Repository.Root, "packaging", "systemd", unit), Path.Combine(system, unit), overwrite: true);
        }

        var start = new ProcessStartInfo(analyze!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "verify", $"--root={_root}" }.Concat(Units.Select(u => Path.Combine(system, u))))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal((0, "", ""), (process.ExitCode, (await output).Trim(), (await error).Trim()));
    }

    [Theory]
    [InlineData("drover-agent.service")]
    [InlineData("drover-aggregator.service")]
    public void Units_Hardening_AsDocumented(string unit)
    {
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, "packaging", "systemd", unit)).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);

        string[] expected =
        [
            "Type=notify", "Restart=on-failure", "User=drover", "Group=drover", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=", "AmbientCapabilities=", "ConfigurationDirectory=drover",
            "LogsDirectory=drover", "RestartPreventExitStatus=78",
        ];
        Assert.All(expected, directive => Assert.Contains(directive, lines));
        Assert.Contains(unit == "drover-agent.service" ? "WatchdogSec=10s" : "WatchdogSec=30s", lines);
        if (unit == "drover-agent.service")
        {
            Assert.Contains("RuntimeDirectory=drover", lines);
            Assert.Contains("DevicePolicy=closed", lines);
            Assert.All(["/dev/nvidiactl rw", "/dev/nvidia-uvm rw", "/dev/nvidia-uvm-tools rw", "char-nvidia-frontend rw"], device => Assert.Contains($"DeviceAllow={device}", lines));
        }
    }
}
