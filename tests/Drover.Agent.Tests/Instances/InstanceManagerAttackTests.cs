using System.Formats.Tar;
using System.Security.Cryptography;
using Drover.Agent.Configuration;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Tests.Events;
using Drover.Protocol.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Instances;

/// <summary>
/// Commands an impostor aggregator could send an agent: protected variables in a StartInstance, and a
/// RestoreState with a planted snapshot; each refused naming what is wrong, nothing else changed.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class InstanceManagerAttackTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("drover-manager-attack-").FullName;
    private readonly FakeLink _link = new();
    private readonly RestoreStaging _staging;
    private readonly InstanceManager _instances;

    public InstanceManagerAttackTests()
    {
        var options = new AgentOptions { ServerNumber = 1, StateDirectory = Path.Combine(_root, "agent"), Runtimes = TestRuntimes.Allowlist() };
        _staging = new RestoreStaging(options, NullLogger<RestoreStaging>.Instance);
        _instances = new InstanceManager(options, new NodeHello("node-1", options), new InstanceTokens(), _link.Outbox, _staging, TimeProvider.System, NullLoggerFactory.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _instances.StopAsync(new StopInstance { InstanceId = "i-1", DeleteState = true }).WaitAsync(Bound);
        Directory.Delete(_root, recursive: true);
    }

    private static InstanceSpec Spec() => new()
    {
        InstanceId = "i-1",
        Function = "f",
        Version = "v1",
        Process = new ProcessRuntime { Command = "/bin/sh", Args = { "-c", "exec sleep 1000" } },
    };

    /// <summary>
    /// A foreign or hand-edited instance.json (here: no process) left in the state directory: the agent starts, does not
    /// adopt it, and keeps its state; it used to throw a NullReferenceException out of start-up (exit 134, restarted
    /// by systemd into the same crash).
    /// </summary>
    [Fact]
    public async Task StartAsync_InstanceFileWithoutProcess_NotAdoptedAgentStarts()
    {
        var folder = Path.Combine(_root, "agent", "instances", "i-9");
        Directory.CreateDirectory(Path.Combine(folder, "state"));
        await File.WriteAllTextAsync(Path.Combine(folder, "instance.json"), """{"instanceId":"i-9","function":"f","version":"v1"}""");
        await File.WriteAllTextAsync(Path.Combine(folder, "state", "kept.txt"), "state");

        await _instances.StartAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.False(File.Exists(Path.Combine(folder, "instance.json")));
        Assert.Equal("state", await File.ReadAllTextAsync(Path.Combine(folder, "state", "kept.txt")));
    }

    [Theory]
    [InlineData("LD_PRELOAD", "is protected")]
    [InlineData("LD_LIBRARY_PATH", "is protected")]
    [InlineData("PATH", "is protected")]
    [InlineData("DROVER_X", "is protected")]
    [InlineData("CUDA_HOME", "is protected")]
    [InlineData("CUDA_VISIBLE_DEVICES", "is set by the agent")]
    [InlineData("DROVER_INSTANCE_TOKEN", "is set by the agent")]
    public async Task StartAsync_ProtectedVariable_RefusedNamingItNothingStarted(string name, string why)
    {
        var spec = Spec();
        spec.Process.Env[name] = "/tmp/evil";

        var error = await _instances.StartAsync(new StartInstance { Spec = spec }).WaitAsync(Bound);

        Assert.Contains($"'{name}' {why}", error, StringComparison.Ordinal);
        Assert.Null(_instances.Find("i-1"));
        Assert.False(Directory.Exists(Path.Combine(_root, "agent", "instances", "i-1")));
    }

    [Theory]
    [InlineData("symlink")]
    [InlineData("hardlink")]
    [InlineData("fifo")]
    [InlineData("dotdot")]
    public async Task RestoreAsync_PlantedSnapshot_RefusedNamingTheEntryOldStateKeptInstanceRunsOn(string kind)
    {
        Assert.Null(await _instances.StartAsync(new StartInstance { Spec = Spec() }).WaitAsync(Bound));
        var supervisor = _instances.Find("i-1")!;
        await WaitUntilAsync(() => supervisor.IsRunning && supervisor.CurrentPid != 0);
        File.WriteAllText(Path.Combine(supervisor.Directory.StatePath, "count"), "7");
        Assert.Equal(StateArchive.DirectoryMode, File.GetUnixFileMode(supervisor.Directory.StatePath));
        var outside = Path.Combine(_root, "outside");
        Directory.CreateDirectory(outside);
        TarEntry bad = kind switch
        {
            "symlink" => new PaxTarEntry(TarEntryType.SymbolicLink, "escape") { LinkName = outside },
            "hardlink" => new PaxTarEntry(TarEntryType.HardLink, "shadow") { LinkName = "/etc/shadow" },
            "fifo" => new PaxTarEntry(TarEntryType.Fifo, "pipe"),
            _ => new PaxTarEntry(TarEntryType.RegularFile, "../../../../outside/planted") { DataStream = new MemoryStream([1, 2, 3]) },
        };
        var snapshot = Stage(new PaxTarEntry(TarEntryType.RegularFile, "count") { DataStream = new MemoryStream("1"u8.ToArray()) }, bad);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => _instances.RestoreAsync(new RestoreState { InstanceId = "i-1", Snapshot = snapshot }).WaitAsync(Bound));

        Assert.Contains($"entry '{bad.Name}'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("7", File.ReadAllText(Path.Combine(supervisor.Directory.StatePath, "count")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        await WaitUntilAsync(() => supervisor.IsRunning && supervisor.CurrentPid != 0);
    }

    /// <summary>Writes the entries as a snapshot and stages it as the aggregator's chunks would.</summary>
    private StateRef Stage(params TarEntry[] entries)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }

        var data = buffer.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(data));
        _staging.Add(new StateChunk { InstanceId = "i-1", Function = "f", Version = 9, Index = 0, Count = 1, TotalSize = (ulong)data.Length, Sha256 = sha, Data = ByteString.CopyFrom(data) });
        return new StateRef { Version = 9, Sha256 = sha, SizeBytes = (ulong)data.Length };
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
