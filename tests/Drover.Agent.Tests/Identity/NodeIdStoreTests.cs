using Drover.Agent.Identity;

namespace Drover.Agent.Tests.Identity;

public sealed class NodeIdStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"drover-state-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void LoadOrCreate_FirstStart_CreatesAndKeepsAnId()
    {
        var first = NodeIdStore.LoadOrCreate(_directory);
        var second = NodeIdStore.LoadOrCreate(_directory);

        Assert.Matches("^[0-9a-f]{32}$", first);
        Assert.Equal(first, second);
        Assert.Equal(first + "\n", File.ReadAllText(Path.Combine(_directory, NodeIdStore.FileName)));
        Assert.False(File.Exists(Path.Combine(_directory, NodeIdStore.FileName + ".tmp")));
    }

    [Fact]
    public void LoadOrCreate_CorruptFile_RefusesRatherThanChangingIdentity()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, NodeIdStore.FileName), "not/an id");

        var ex = Assert.Throws<ConfigurationException>(() => NodeIdStore.LoadOrCreate(_directory));

        Assert.Contains("'not/an id'", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"stateDirectory = '{_directory}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadOrCreate_UnwritableLocation_IsAConfigurationError()
    {
        // A file where the directory should be cannot become a directory, root or not.
        File.WriteAllText(_directory, "x");
        try
        {
            var ex = Assert.Throws<ConfigurationException>(() => NodeIdStore.LoadOrCreate(Path.Combine(_directory, "state")));

            Assert.Contains("expected a writable directory", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(_directory);
        }
    }
}
