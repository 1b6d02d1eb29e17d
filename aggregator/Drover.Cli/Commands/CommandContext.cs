using System.CommandLine;
using Drover.Cli.Api;
using Drover.Cli.Configuration;
using Drover.Cli.Output;

namespace Drover.Cli.Commands;

/// <summary>What a command's action works with: the parsed command line, the settings in force, the client and the output.</summary>
internal sealed class CommandContext : IDisposable
{
    private CommandContext(ParseResult parse, CliHost host, AggregatorClient client, CliOutput output)
    {
        Parse = parse;
        Host = host;
        Client = client;
        Output = output;
    }

    public ParseResult Parse { get; }

    public CliHost Host { get; }

    public AggregatorClient Client { get; }

    public CliOutput Output { get; }

    public static CommandContext Create(ParseResult parse, CliHost host, GlobalOptions options)
    {
        var settings = SettingsResolver.Resolve(
            parse.GetValue(options.Url),
            parse.GetValue(options.Token),
            parse.GetValue(options.Timeout),
            host.Environment,
            host.Error);
        return new CommandContext(parse, host, new AggregatorClient(settings), new CliOutput(host, options.Format(parse)));
    }

    public void Dispose() => Client.Dispose();
}
