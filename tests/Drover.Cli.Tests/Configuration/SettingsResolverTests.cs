using Drover.Cli.Configuration;

namespace Drover.Cli.Tests.Configuration;

public sealed class SettingsResolverTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("droverctl-settings-").FullName;
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public SettingsResolverTests()
    {
        _environment["HOME"] = _home;
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private string ConfigPath => Path.Combine(_home, ".config", "drover", "config.json");

    private void WriteConfig(string json, string? path = null)
    {
        path ??= ConfigPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private CliSettings Resolve(string? url = null, string? token = null, double timeout = 30, TextWriter? warnings = null)
        => SettingsResolver.Resolve(url, token, timeout, name => _environment.GetValueOrDefault(name), warnings);

    [Theory]
    // flag, environment, file → the one in force and its source
    [InlineData("http://flag:1", "http://env:2", "http://file:3", "http://flag:1/", "--url")]
    [InlineData(null, "http://env:2", "http://file:3", "http://env:2/", "DROVER_URL")]
    [InlineData(null, null, "http://file:3", "http://file:3/", "file")]
    [InlineData(null, null, null, "http://127.0.0.1:7400/", "the default")]
    [InlineData("", "  ", "http://file:3", "http://file:3/", "file")]
    public void Resolve_Url_FlagBeatsEnvironmentBeatsFileBeatsDefault(string? flag, string? environment, string? file, string expected, string source)
    {
        if (environment is not null)
        {
            _environment["DROVER_URL"] = environment;
        }

        if (file is not null)
        {
            WriteConfig($$"""{"url": "{{file}}"}""");
        }

        var settings = Resolve(url: flag);

        Assert.Equal(expected, settings.Url.AbsoluteUri);
        Assert.Equal(source == "file" ? ConfigPath : source, settings.UrlSource);
    }

    [Theory]
    [InlineData("flag-token", "env-token", "file-token", "flag-token", "--token")]
    [InlineData(null, "env-token", "file-token", "env-token", "DROVER_TOKEN")]
    [InlineData(null, null, "file-token", "file-token", "file")]
    [InlineData(null, null, null, null, null)]
    public void Resolve_Token_FlagBeatsEnvironmentBeatsFile(string? flag, string? environment, string? file, string? expected, string? source)
    {
        if (environment is not null)
        {
            _environment["DROVER_TOKEN"] = environment;
        }

        if (file is not null)
        {
            WriteConfig($$"""{"token": "{{file}}"}""");
        }

        var settings = Resolve(token: flag);

        Assert.Equal(expected, settings.Token);
        Assert.Equal(source == "file" ? ConfigPath : source, settings.TokenSource);
    }

    [Fact]
    public void Resolve_UrlAndToken_EachFromItsOwnSource()
    {
        _environment["DROVER_TOKEN"] = "env-token";
        WriteConfig("""{"url": "http://file:3", "token": "file-token"}""");

        var settings = Resolve();

        Assert.Equal("http://file:3/", settings.Url.AbsoluteUri);
        Assert.Equal("env-token", settings.Token);
        Assert.Equal("DROVER_TOKEN", settings.TokenSource);
    }

    [Fact]
    public void Resolve_XdgConfigHome_IsWhereTheFileIs()
    {
        var xdg = Path.Combine(_home, "xdg");
        _environment["XDG_CONFIG_HOME"] = xdg;
        WriteConfig("""{"url": "http://home:1"}""");
        WriteConfig("""{"url": "http://xdg:2"}""", Path.Combine(xdg, "drover", "config.json"));

        var settings = Resolve();

        Assert.Equal("http://xdg:2/", settings.Url.AbsoluteUri);
        Assert.Equal(Path.Combine(xdg, "drover", "config.json"), settings.ConfigPath);
    }

    [Fact]
    public void Resolve_RelativeXdgConfigHome_IsIgnoredForHome()
    {
        _environment["XDG_CONFIG_HOME"] = "relative/config";
        WriteConfig("""{"url": "http://home:1"}""");

        Assert.Equal("http://home:1/", Resolve().Url.AbsoluteUri);
    }

    [Fact]
    public void Resolve_UrlWithBasePath_KeepsItAndEndsInSlash()
        => Assert.Equal("https://proxy.example/drover/", Resolve(url: "https://proxy.example/drover").Url.AbsoluteUri);

    [Theory]
    [InlineData("127.0.0.1:7400")]
    [InlineData("ftp://host/")]
    [InlineData("http://host/?a=b")]
    [InlineData("not a url")]
    public void Resolve_UrlNotHttp_IsAUsageErrorNamingItsSource(string url)
    {
        _environment["DROVER_URL"] = url;

        var error = Assert.Throws<CliException>(() => Resolve());

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(url, error.Message, StringComparison.Ordinal);
        Assert.Contains("DROVER_URL", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("[]", "expected an object")]
    [InlineData("""{"url": 7400}""", "\"url\" is a JSON number")]
    [InlineData("""{"address": "http://x"}""", "\"address\" is not a setting")]
    public void Resolve_BadConfigFile_IsAUsageErrorNamingTheFile(string json, string why)
    {
        WriteConfig(json);

        var error = Assert.Throws<CliException>(() => Resolve());

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(ConfigPath, error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_BadConfigFile_NotReadWhenFlagsGiveEverything()
    {
        WriteConfig("{");

        var settings = Resolve(url: "http://flag:1", token: "t");

        Assert.Equal("http://flag:1/", settings.Url.AbsoluteUri);
    }

    [Fact]
    public void Resolve_TokenFromFileOthersMayRead_Warns()
    {
        WriteConfig("""{"token": "file-token"}""");
        File.SetUnixFileMode(ConfigPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        using var warnings = new StringWriter();

        Resolve(warnings: warnings);

        Assert.Contains("chmod 600", warnings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_TokenFromPrivateFile_DoesNotWarn()
    {
        WriteConfig("""{"token": "file-token"}""");
        using var warnings = new StringWriter();

        Resolve(warnings: warnings);

        Assert.Equal("", warnings.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(100_000)]
    public void Resolve_TimeoutOutOfRange_IsAUsageError(double timeout)
        => Assert.Equal(ExitCodes.Usage, Assert.Throws<CliException>(() => Resolve(url: "http://x", token: "t", timeout: timeout)).ExitCode);

    [Fact]
    public void Resolve_Timeout_InSeconds()
        => Assert.Equal(TimeSpan.FromMilliseconds(1500), Resolve(url: "http://x", token: "t", timeout: 1.5).Timeout);
}
