using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

public sealed class OutputLogRotatorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-rotate-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void RotateIfOver_UnderTheCap_LeavesTheLogAlone()
    {
        var log = Path.Combine(_root, "output.log");
        File.WriteAllText(log, "short\n");

        Assert.False(OutputLogRotator.RotateIfOver(log, 1024));
        Assert.Equal("short\n", File.ReadAllText(log));
        Assert.False(File.Exists(log + ".1"));
    }

    [Fact]
    public void RotateIfOver_AtTheCap_MovesContentToDotOneReplacingTheOlderAndEmptiesTheLog()
    {
        var log = Path.Combine(_root, "output.log");
        File.WriteAllText(log + ".1", "older rotation\n");
        var content = new string('x', 1023) + "\n";
        File.WriteAllText(log, content);

        Assert.True(OutputLogRotator.RotateIfOver(log, 1024));
        Assert.Equal(content, File.ReadAllText(log + ".1"));
        Assert.Equal(0, new FileInfo(log).Length);
        Assert.False(File.Exists(log + ".1.tmp"));
    }

    [Fact]
    public void RotateIfOver_NoLogYet_DoesNothing()
    {
        Assert.False(OutputLogRotator.RotateIfOver(Path.Combine(_root, "output.log"), 1024));
    }

    [Fact]
    public async Task RotateIfOver_InstanceStillWriting_ItsNextLinesStartTheEmptiedLog()
    {
        // The process keeps the log open as the launch opens it (>>, O_APPEND): after the rotation its
        // writes land at the start of the emptied file, not at its old offset behind a hole.
        var log = Path.Combine(_root, "output.log");
        var go = Path.Combine(_root, "go");
        using var process = InstanceProcess.Launch(
            ["/bin/sh", "-c", "echo first; while [ ! -e \"$GO\" ]; do sleep 0.05; done; echo second"],
            new Dictionary<string, string> { ["GO"] = go, ["PATH"] = "/usr/bin:/bin" },
            _root,
            log,
            TimeProvider.System);
        await WaitUntilAsync(() => File.Exists(log) && File.ReadAllText(log) == "first\n");

        Assert.True(OutputLogRotator.RotateIfOver(log, 1));
        File.WriteAllText(go, "");
        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("first\n", File.ReadAllText(log + ".1"));
        Assert.Equal("second\n", File.ReadAllText(log));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 30 s");
            await Task.Delay(20);
        }
    }
}
