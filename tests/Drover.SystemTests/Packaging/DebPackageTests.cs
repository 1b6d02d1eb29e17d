using System.Diagnostics;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Packaging;

/// <summary>
/// <c>make package</c>'s two .debs, installed into a scratch root by dpkg itself, their maintainer scripts run without
/// a chroot and with <c>DPKG_ROOT</c> set (as image builders do): what lands where, the drover user, the units enabled
/// on the first install; an upgrade keeps a local edit of a conffile and an admin's disabling; remove keeps the
/// configuration and the state; purge deletes them and leaves the other package's alone.
/// </summary>
public sealed class DebPackageTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-deb-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Root(string path) => Path.Combine(_root, path.TrimStart('/'));

    private static string Package(string name)
    {
        var directory = Path.Combine(Repository.Out, "packages");
        var found = Directory.Exists(directory) ? Directory.GetFiles(directory, $"{name}_*_amd64.deb") : [];
        Assert.True(found.Length == 1, $"expected one {name}_<version>_amd64.deb in {directory} (make package builds them), found {found.Length}");
        return found[0];
    }

    [Drover.Testing.RootFact]
    public async Task InstallUpgradeRemovePurge_InAScratchRoot_AsDocumented()
    {
        var agent = Package("drover-agent");
        var aggregator = Package("drover-aggregator");
        var version = Path.GetFileName(agent).Split('_')[1];
        Assert.True(File.Exists("/usr/bin/deb-systemd-helper"), "deb-systemd-helper is missing: make test installs init-system-helpers where apt-get can (Makefile, test-tools)");
        PrepareRoot();

        // Install: files, user, enabled units.
        await DpkgAsync("--install", agent, aggregator);
        Assert.Equal($"drover-agent {version}", (await RunAsync(Root("/usr/bin/drover-agent"), "--version")).Trim());
        Assert.Equal($"drover-aggregator {version}", (await RunAsync(Root("/usr/bin/drover-aggregator"), "--version")).Trim());
        Assert.True(File.Exists(Root("/usr/lib/drover-aggregator/libcoreclr.so")), "the aggregator is self-contained");
        foreach (var (unit, config) in new[] { ("drover-agent", "agent"), ("drover-aggregator", "aggregator") })
        {
            Assert.True(File.Exists(Root($"/usr/lib/systemd/system/{unit}.service")));
            Assert.Equal($"/usr/lib/systemd/system/{unit}.service", new FileInfo(Root($"/etc/systemd/system/multi-user.target.wants/{unit}.service")).LinkTarget);
            Assert.Contains($"/etc/drover/{config}.json", await QueryAsync(unit, "${Conffiles}"), StringComparison.Ordinal);
            Assert.Equal("install ok installed", await QueryAsync(unit, "${Status}"));
        }

        var drover = AssertSingleDroverUser();
        Assert.True(int.Parse(drover[2], System.Globalization.CultureInfo.InvariantCulture) < 1000, "a system uid");
        Assert.Equal(("/var/lib/drover", "/usr/sbin/nologin"), (drover[5], drover[6]));
        Assert.Single(File.ReadAllLines(Root("/etc/group")), l => l.StartsWith("drover:", StringComparison.Ordinal));

        // What the services would have written by now, and an admin's choices: a local edit and a disabled agent.
        Write("/var/lib/drover/agent/node-id", "gpu-17");
        Write("/var/log/drover/agent.log", "log");
        Write("/var/log/drover/agent_001.log", "rolled log");
        Write("/var/lib/drover/aggregator/state.db", "db");
        Write("/var/log/drover/aggregator.log", "log");
        File.AppendAllText(Root("/etc/drover/agent.json"), "// local edit\n");
        File.Delete(Root("/etc/systemd/system/multi-user.target.wants/drover-agent.service"));

        // Upgrade: the same agent at a later version.
        var newer = await RepackAsync(agent, $"{version}+1");
        await DpkgAsync("--install", newer);
        Assert.Equal($"{version}+1", await QueryAsync("drover-agent", "${Version}"));
        Assert.EndsWith("// local edit\n", File.ReadAllText(Root("/etc/drover/agent.json")), StringComparison.Ordinal);
        Assert.False(File.Exists(Root("/etc/systemd/system/multi-user.target.wants/drover-agent.service")), "an upgrade does not enable a unit the admin disabled");
        AssertSingleDroverUser(); // the user is never made twice

        // Remove: the program goes; configuration and state stay.
        await DpkgAsync("--remove", "drover-agent");
        Assert.False(File.Exists(Root("/usr/bin/drover-agent")));
        Assert.False(File.Exists(Root("/usr/lib/systemd/system/drover-agent.service")));
        Assert.True(File.Exists(Root("/etc/drover/agent.json")));
        Assert.True(File.Exists(Root("/var/lib/drover/agent/node-id")));

        // Purge: configuration, state and logs go; the aggregator's are untouched, and the user stays.
        await DpkgAsync("--purge", "drover-agent");
        Assert.False(File.Exists(Root("/etc/drover/agent.json")));
        Assert.False(Directory.Exists(Root("/var/lib/drover/agent")));
        Assert.Equal(["aggregator.log"], Directory.GetFiles(Root("/var/log/drover")).Select(Path.GetFileName));
        Assert.True(File.Exists(Root("/etc/drover/aggregator.json")));
        Assert.True(File.Exists(Root("/var/lib/drover/aggregator/state.db")));
        AssertSingleDroverUser(); // the user is never made twice

        await DpkgAsync("--purge", "drover-aggregator");
        Assert.False(Directory.Exists(Root("/var/lib/drover")));
        Assert.False(Directory.Exists(Root("/var/log/drover")));
        Assert.False(Directory.Exists(Root("/etc/drover")));
        Assert.False(File.Exists(Root("/etc/systemd/system/multi-user.target.wants/drover-aggregator.service")));
    }

    [Theory]
    [InlineData("drover-agent", "./usr/bin/drover-agent")]
    [InlineData("drover-aggregator", "./usr/lib/drover-aggregator/drover-aggregator")]
    public async Task ControlFieldsAndFileList_AsAnOperatorExpects(string name, string program)
    {
        var package = Package(name);
        var version = Path.GetFileName(package).Split('_')[1];

        var fields = (await RunAsync("dpkg-deb", "--field", package, "Package", "Version", "Architecture", "Depends", "Section")).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(':')[0], l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim());
        Assert.Equal(name, fields["Package"]);
        Assert.Equal(version, fields["Version"]);
        Assert.Equal("amd64", fields["Architecture"]);
        Assert.Equal("admin", fields["Section"]);
        Assert.Contains("init-system-helpers", fields["Depends"], StringComparison.Ordinal);
        Assert.Contains("passwd", fields["Depends"], StringComparison.Ordinal);

        // dpkg-deb --contents: "mode owner/group size date time path [-> target]".
        var files = (await RunAsync("dpkg-deb", "--contents", package)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToDictionary(f => f[5], f => (Mode: f[0], Owner: f[1]));
        Assert.All(files.Values, f => Assert.Equal("root/root", f.Owner));
        Assert.All(files.Where(f => f.Value.Mode[0] == 'd'), f => Assert.Equal("drwxr-xr-x", f.Value.Mode));
        Assert.Equal("-rwxr-xr-x", files[program].Mode);
        var config = $"./etc/drover/{name["drover-".Length..]}.json";
        Assert.Equal("-rw-r--r--", files[config].Mode);
        Assert.Equal("-rw-r--r--", files[$"./usr/lib/systemd/system/{name}.service"].Mode);
        Assert.Equal("-rw-r--r--", files[$"./usr/share/doc/{name}/copyright"].Mode);
        Assert.Equal("-rw-r--r--", files[$"./usr/share/man/man8/{name}.8.gz"].Mode);
        var executables = new[] { program, "./usr/lib/drover-aggregator/createdump" };
        Assert.All(files.Where(f => f.Value.Mode[0] == '-'), f => Assert.Equal(executables.Contains(f.Key) ? "-rwxr-xr-x" : "-rw-r--r--", f.Value.Mode));
        Assert.Equal($"/etc/drover/{name["drover-".Length..]}.json", (await RunAsync("sh", "-c", $"dpkg-deb --ctrl-tarfile '{package}' | tar -xO ./conffiles")).Trim());
    }

    /// <summary>The one drover entry of the root's /etc/passwd, split into its fields.</summary>
    private string[] AssertSingleDroverUser()
        => Assert.Single(File.ReadAllLines(Root("/etc/passwd")), l => l.StartsWith("drover:", StringComparison.Ordinal)).Split(':');

    /// <summary>What dpkg and useradd need of a root: an empty package database and the account files.</summary>
    private void PrepareRoot()
    {
        foreach (var directory in new[] { "/var/lib/dpkg/info", "/var/lib/dpkg/updates", "/var/lib/dpkg/triggers", "/etc", "/usr/sbin" })
        {
            Directory.CreateDirectory(Root(directory));
        }

        Write("/var/lib/dpkg/status", "");
        Write("/var/lib/dpkg/available", "");
        Write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        Write("/etc/group", "root:x:0:\n");
        Write("/etc/shadow", "root:*:20000:0:99999:7:::\n");
        Write("/etc/gshadow", "root:*::\n");
    }

    private void Write(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Root(path))!);
        File.WriteAllText(Root(path), content);
    }

    /// <summary>dpkg on the scratch root, scripts run outside a chroot, dependencies (the host's business) not checked.</summary>
    private Task DpkgAsync(params string[] arguments)
        => RunAsync("dpkg", [$"--root={_root}", "--force-script-chrootless", "--force-depends", "--force-confdef", "--force-confold", "--log=/dev/null", .. arguments]);

    private async Task<string> QueryAsync(string package, string format)
        => (await RunAsync("dpkg-query", $"--admindir={Root("/var/lib/dpkg")}", "--show", $"--showformat={format}", package)).Trim();

    /// <summary>The package again with another version, as an upgrade would bring it.</summary>
    private async Task<string> RepackAsync(string package, string version)
    {
        var tree = Path.Combine(_root, "..", $"{Path.GetFileName(_root)}-repack");
        try
        {
            await RunAsync("dpkg-deb", "--raw-extract", package, tree);
            var control = Path.Combine(tree, "DEBIAN", "control");
            File.WriteAllLines(control, File.ReadAllLines(control).Select(l => l.StartsWith("Version:", StringComparison.Ordinal) ? $"Version: {version}" : l));
            var repacked = Path.Combine(Path.GetTempPath(), $"drover-agent_{version}_{Guid.NewGuid():N}.deb");
            await RunAsync("dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, repacked);
            return repacked;
        }
        finally
        {
            Directory.Delete(tree, recursive: true);
        }
    }

    private async Task<string> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        output.WriteLine($"$ {program} {string.Join(' ', arguments)}\n{await stdout}{await stderr}");
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
