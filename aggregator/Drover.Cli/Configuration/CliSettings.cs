namespace Drover.Cli.Configuration;

/// <summary>
/// Where the aggregator is and how droverctl speaks to it, each value with where it came from (named in error
/// messages, so an operator sees which setting to change).
/// </summary>
/// <param name="Url">The aggregator's HTTP API, ending in '/'.</param>
/// <param name="UrlSource">Where <paramref name="Url"/> came from: <c>--url</c>, <c>DROVER_URL</c>, the config file, or the default.</param>
/// <param name="Token">The bearer token; null when none was given.</param>
/// <param name="TokenSource">Where <paramref name="Token"/> came from; null with no token.</param>
/// <param name="Timeout">How long one request may take (connecting included).</param>
/// <param name="ConfigPath">The config file consulted (whether or not it exists).</param>
internal sealed record CliSettings(Uri Url, string UrlSource, string? Token, string? TokenSource, TimeSpan Timeout, string ConfigPath)
{
    /// <summary>Where an operator sets the address, for messages.</summary>
    public string HowToSetUrl => $"Set it with --url, DROVER_URL or \"url\" in {ConfigPath} (this address {(UrlSource == SettingsResolver.DefaultSource ? "is the default" : "is from " + UrlSource)}).";

    /// <summary>Where an operator sets the token, for messages.</summary>
    public string HowToSetToken => $"--token, DROVER_TOKEN or \"token\" in {ConfigPath}";
}
