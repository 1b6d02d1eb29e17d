using System.Globalization;

namespace Drover.Cli.Configuration;

/// <summary>
/// The address and token in force: a flag (<c>--url</c>, <c>--token</c>) wins over the environment
/// (<c>DROVER_URL</c>, <c>DROVER_TOKEN</c>), which wins over the config file (<see cref="ConfigFile"/>), which wins
/// over the default (<see cref="DefaultUrl"/>; no token). Each value is resolved on its own: a token from the
/// environment goes with an address from the file. Empty values count as not set.
/// </summary>
internal static class SettingsResolver
{
    public const string DefaultUrl = "http://127.0.0.1:7400";

    public const string UrlVariable = "DROVER_URL";

    /// <summary>The source named when no flag, variable or file gave the address.</summary>
    public const string DefaultSource = "the default";

    public const string TokenVariable = "DROVER_TOKEN";

    /// <summary>The default of <c>--timeout</c>, in seconds.</summary>
    public const double DefaultTimeoutSeconds = 30;

    /// <summary>The settings in force; a usage error for an address that is not an http(s) URL, naming where it came from.</summary>
    public static CliSettings Resolve(string? urlFlag, string? tokenFlag, double timeoutSeconds, Func<string, string?> environment, TextWriter? warnings = null)
    {
        var configPath = ConfigFile.PathFrom(environment);
        ConfigFile? file = null;
        ConfigFile File() => file ??= ConfigFile.Load(configPath);

        var (url, urlSource) =
            Given(urlFlag) ? (urlFlag!, "--url")
            : Given(environment(UrlVariable)) ? (environment(UrlVariable)!, UrlVariable)
            : Given(File().Url) ? (File().Url!, configPath)
            : (DefaultUrl, DefaultSource);
        var (token, tokenSource) =
            Given(tokenFlag) ? (tokenFlag, "--token")
            : Given(environment(TokenVariable)) ? (environment(TokenVariable), TokenVariable)
            : Given(File().Token) ? (File().Token, configPath)
            : ((string?)null, (string?)null);

        if (tokenSource == configPath && warnings is not null && ReadableByOthers(configPath))
        {
            warnings.WriteLine($"droverctl: warning: {configPath} holds a token and may be read by other users (chmod 600 it)");
        }

        if (!double.IsFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 86_400)
        {
            throw new CliException(ExitCodes.Usage, $"--timeout {timeoutSeconds.ToString(CultureInfo.InvariantCulture)}: expected seconds, more than 0 and at most 86400");
        }

        return new CliSettings(ParseUrl(url, urlSource), urlSource, token?.Trim(), tokenSource, TimeSpan.FromSeconds(timeoutSeconds), configPath);
    }

    /// <summary>An absolute http or https URL, ending in '/' so that API paths are appended to any base path it has.</summary>
    public static Uri ParseUrl(string text, string source)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new CliException(ExitCodes.Usage, $"the aggregator's address '{text}' (from {source}) is not an http or https URL such as {DefaultUrl}");
        }

        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    private static bool Given(string? value) => !string.IsNullOrWhiteSpace(value);

    private static bool ReadableByOthers(string path)
    {
        try
        {
            return (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
