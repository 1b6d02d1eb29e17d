using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

/// <summary>runtime.json, which a restarted agent adopts its instances from, through the generated serializer.</summary>
public sealed class InstanceDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-dir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Runtime_WrittenThenRead_IsTheSame()
    {
        var directory = new InstanceDirectory(_root, "inst-1");
        directory.Create();
        var runtime = new InstanceRuntime(4242, 123456789, 20001, "token", 2, 7, "ab12");

        directory.WriteRuntime(runtime);

        Assert.Equal(runtime, directory.ReadRuntime());
    }

    /// <summary>The file an agent before the generated serializer wrote (reflection, PascalCase) is still adopted.</summary>
    [Fact]
    public void Runtime_WrittenByAnOlderAgent_IsRead()
    {
        var directory = new InstanceDirectory(_root, "inst-1");
        directory.Create();
        File.WriteAllText(
            Path.Combine(directory.Root, "runtime.json"),
            """{"Pid":4242,"StartTime":123456789,"Port":20001,"Token":"token","Restarts":2,"StateVersion":7,"StateSha256":"ab12"}""");

        Assert.Equal(new InstanceRuntime(4242, 123456789, 20001, "token", 2, 7, "ab12"), directory.ReadRuntime());
    }

    [Fact]
    public void Runtime_Corrupt_IsNothingToAdopt()
    {
        var directory = new InstanceDirectory(_root, "inst-1");
        directory.Create();
        File.WriteAllText(Path.Combine(directory.Root, "runtime.json"), "{not json");

        Assert.Null(directory.ReadRuntime());
    }
}
