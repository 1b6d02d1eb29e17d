using System.CommandLine;
using Drover.Cli.Configuration;
using Drover.Cli.Output;

namespace Drover.Cli.Commands;

/// <summary>The options every command takes (recursive on the root command, so they go before or after the command's name).</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"The aggregator's HTTP API [default: ${SettingsResolver.UrlVariable}, else \"url\" in the config file, else {SettingsResolver.DefaultUrl}]",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"The API token (visible to other users in ps: prefer ${SettingsResolver.TokenVariable} or the config file) [default: ${SettingsResolver.TokenVariable}, else \"token\" in the config file]",
        HelpName = "TOKEN",
        Recursive = true,
    };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds one request may take, connecting included",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => SettingsResolver.DefaultTimeoutSeconds,
        Recursive = true,
    };

    public Option<string> Output { get; } = new Option<string>("--output", "-o")
    {
        Description = "table: for people; json: the API's JSON as is, indented, for scripts",
        HelpName = "table|json",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    }.AcceptOnlyFromAmong("table", "json");

    /// <summary>The output format asked for.</summary>
    public OutputFormat Format(ParseResult parse) => parse.GetValue(Output) == "json" ? OutputFormat.Json : OutputFormat.Table;

    public void AddTo(Command root)
    {
        root.Options.Add(Url);
        root.Options.Add(Token);
        root.Options.Add(Timeout);
        root.Options.Add(Output);
    }
}
