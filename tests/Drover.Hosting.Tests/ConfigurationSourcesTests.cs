namespace Drover.Hosting.Tests;

public sealed class ConfigurationSourcesTests : IDisposable
{
    private const string Prefix = "DROVER_HOSTING_TESTS_";

    private readonly string _directory = Directory.CreateTempSubdirectory("drover-hosting-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Build_NamedFileMissing_FailsNamingConfig()
    {
        var missing = Path.Combine(_directory, "nope.json");

        var error = Assert.Throws<ConfigurationException>(() => ConfigurationSources.Build(["--config", missing], "/nonexistent/default.json", Prefix));

        Assert.StartsWith($"config = '{missing}': the file does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_DefaultFileMissing_IsNoError()
    {
        var configuration = ConfigurationSources.Build(["--port", "7"], Path.Combine(_directory, "absent.json"), Prefix);

        Assert.Equal("7", configuration["port"]);
    }

    [Fact]
    public void Build_FileThenCommandLine_CommandLineWins()
    {
        var file = Path.Combine(_directory, "config.json");
        File.WriteAllText(file, """{ "port": 1, "cluster": "c9" }""");

        var configuration = ConfigurationSources.Build(["--config", file, "--port", "2"], "/nonexistent/default.json", Prefix);

        Assert.Equal("2", configuration["port"]);
        Assert.Equal("c9", configuration["cluster"]);
    }

    [Fact]
    public void Build_FileNotJson_FailsNamingConfig()
    {
        var file = Path.Combine(_directory, "broken.json");
        File.WriteAllText(file, "{ not json");

        var error = Assert.Throws<ConfigurationException>(() => ConfigurationSources.Build(["--config", file], "/nonexistent/default.json", Prefix));

        Assert.StartsWith($"config = '{file}': ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureDirectory_Unwritable_FailsNamingTheKey()
    {
        var blocker = Path.Combine(_directory, "a-file");
        File.WriteAllText(blocker, "");

        var error = Assert.Throws<ConfigurationException>(() => ConfigurationSources.EnsureDirectory("dataDirectory", Path.Combine(blocker, "sub")));

        Assert.StartsWith($"dataDirectory = '{Path.Combine(blocker, "sub")}': the directory cannot be created", error.Message, StringComparison.Ordinal);
    }
}
