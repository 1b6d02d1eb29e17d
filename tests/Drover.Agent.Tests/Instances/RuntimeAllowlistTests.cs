using Drover.Agent.Configuration;
using Drover.Agent.Instances;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Instances;

/// <summary>The path and environment rules of the runtime allowlist, as tables over a real directory tree.</summary>
[Trait("Category", "Attacks")]
public sealed class RuntimeAllowlistTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-allow-").FullName;

    public RuntimeAllowlistTests()
    {
        // allowed/prog, allowed/sub/deep, outside/evil, allowed-evil/prog (a sibling sharing the prefix),
        // allowed/link -> ../outside/evil (a link inside the allowlist pointing out), allowed/inner ->
        // prog (a link that stays inside), alias -> allowed (an entry reached through a link).
        foreach (var file in new[] { "allowed/prog", "allowed/sub/deep", "outside/evil", "allowed-evil/prog", "single/tool", "single/other" })
        {
            var path = Path.Combine(_root, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "#!/bin/sh\n");
        }

        File.CreateSymbolicLink(Path.Combine(_root, "allowed", "link"), "../outside/evil");
        File.CreateSymbolicLink(Path.Combine(_root, "allowed", "inner"), "prog");
        Directory.CreateSymbolicLink(Path.Combine(_root, "alias"), Path.Combine(_root, "allowed"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string, string?> Commands => new()
    {
        // command (relative to the fixture, {r} = its root)  →  null when allowed, else part of the refusal
        { "{r}/allowed/prog", null },
        { "{r}/allowed/sub/deep", null },
        { "{r}/allowed/inner", null },
        { "{r}/alias/prog", null },
        { "{r}/single/tool", null },
        { "{r}/single/other", "is not allowed" },
        { "{r}/allowed/link", "is not allowed" },
        { "{r}/allowed/../outside/evil", "without . or .. segments" },
        { "{r}/allowed/sub/../../outside/evil", "without . or .. segments" },
        { "{r}/allowed/./prog", "without . or .. segments" },
        { "{r}/allowed//prog", "without . or .. segments" },
        { "{r}/outside/evil", "is not allowed" },
        { "{r}/allowed-evil/prog", "is not allowed" },
        { "{r}/allowed/missing", "does not exist" },
        { "{r}/allowed/sub", "is not a regular file" },
        { "allowed/prog", "expected an absolute path" },
        { "prog", "expected an absolute path" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Check_Command_AllowedOnlyInsideTheAllowlist(string command, string? refusal)
    {
        var allowlist = new RuntimeAllowlist([new RuntimeEntry { Path = Path.Combine(_root, "allowed") }, new RuntimeEntry { Path = Path.Combine(_root, "single", "tool") }]);
        var resolved = command.Replace("{r}", _root, StringComparison.Ordinal);

        var (grant, error) = allowlist.Check(new ProcessRuntime { Command = resolved });

        if (refusal is null)
        {
            Assert.Null(error);
            Assert.NotNull(grant);
            Assert.Equal(LibC.ResolvePath(resolved), grant.Executable);
            Assert.Null(grant.User);
        }
        else
        {
            Assert.Null(grant);
            Assert.Contains(refusal, error, StringComparison.Ordinal);
            Assert.Contains($"'{resolved}'", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Check_EmptyAllowlist_RefusesEverything()
    {
        var (grant, error) = new RuntimeAllowlist([]).Check(new ProcessRuntime { Command = "/bin/sh" });

        Assert.Null(grant);
        Assert.Contains("runtimes (the agent's allowlist) is empty", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_FirstMatchingEntryApplies_ItsKeyNamed()
    {
        var allowlist = new RuntimeAllowlist([new RuntimeEntry { Path = Path.Combine(_root, "outside") }, new RuntimeEntry { Path = Path.Combine(_root, "allowed") }, new RuntimeEntry { Path = _root }]);

        var (grant, _) = allowlist.Check(new ProcessRuntime { Command = Path.Combine(_root, "allowed", "prog") });

        Assert.Equal("runtimes:1", grant?.EntryKey);
    }

    public static TheoryData<string, bool> Variables => new()
    {
        // variable set by the aggregator  →  allowed by an entry whose env lists only LD_LIBRARY_PATH
        { "LD_PRELOAD", false },
        { "LD_AUDIT", false },
        { "PATH", false },
        { "DROVER_X", false },
        { "CUDA_HOME", false },
        { "CUDA_VISIBLE_DEVICES", false },
        { "LD_LIBRARY_PATH", true },
        { "Path", true },
        { "ld_preload", true },
        { "PATHS", true },
        { "MY_LD_PRELOAD", true },
        { "MODEL", true },
    };

    [Theory]
    [MemberData(nameof(Variables))]
    public void Check_ProtectedVariable_RefusedUnlessTheEntryListsIt(string name, bool allowed)
    {
        var allowlist = new RuntimeAllowlist([new RuntimeEntry { Path = Path.Combine(_root, "allowed"), Env = ["LD_LIBRARY_PATH"] }]);
        var process = new ProcessRuntime { Command = Path.Combine(_root, "allowed", "prog") };
        process.Env[name] = "/tmp/x";

        var (grant, error) = allowlist.Check(process);

        if (allowed)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.Null(grant);
            Assert.Contains($"'{name}' is protected", error, StringComparison.Ordinal);
            Assert.Contains("runtimes:0:env", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Argv_WithUser_RunsThroughSetprivAsThatUser()
    {
        var grant = new RuntimeGrant("/opt/fn/run", "runtimes:0", new RuntimeUser("nobody", 65534, 65534));

        var argv = grant.Argv(["--port", "1"]);

        Assert.Equal([RuntimeGrant.SetPriv!, "--reuid=65534", "--regid=65534", "--init-groups", "--inh-caps=-all", "--ambient-caps=-all", "--", "/opt/fn/run", "--port", "1"], argv);
    }

    /// <summary>
    /// An agent that is not root runs instances as another user with CAP_SETUID and CAP_SETGID granted (the unit's
    /// drop-in). A process that was never root keeps its capabilities across a change of user, so without the drop an
    /// instance would hold them too. Played out for real: an outer setpriv makes this test a uid-1001 process with
    /// those two in its ambient set, as systemd makes such an agent; the instance's own status shows none. Needs root
    /// to set the scene, as the CI runs.
    /// </summary>
    [Drover.Testing.RootFact]
    public async Task Argv_AgentWithCapabilities_InstanceGetsNone()
    {
        var grant = new RuntimeGrant("/usr/bin/grep", "runtimes:0", new RuntimeUser("nobody", 65534, 65534));
        var agent = new[] { RuntimeGrant.SetPriv!, "--reuid=1001", "--regid=1001", "--clear-groups", "--inh-caps=+setuid,+setgid", "--ambient-caps=+setuid,+setgid", "--" };
        var start = new System.Diagnostics.ProcessStartInfo(agent[0]) { RedirectStandardOutput = true };
        foreach (var argument in agent.Skip(1).Concat(grant.Argv(["-E", "^(Uid|CapPrm|CapEff|CapAmb):", "/proc/self/status"])))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var status = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("Uid:\t65534", status, StringComparison.Ordinal);
        Assert.Equal(["CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapAmb:\t0000000000000000"], status.Split('\n').Where(l => l.StartsWith("Cap", StringComparison.Ordinal)));
    }
}
