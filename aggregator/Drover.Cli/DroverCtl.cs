using System.CommandLine;
using System.CommandLine.Invocation;
using Drover.Cli.Commands;
using Drover.Cli.Configuration;

namespace Drover.Cli;

/// <summary>droverctl's command line: the command tree, and the run that maps every outcome to an exit code (<see cref="ExitCodes"/>).</summary>
internal static class DroverCtl
{
    public static readonly string Description =
        "droverctl: the Drover fleet from a terminal, through the aggregator's HTTP API.\n\n" +
        "The aggregator's address and token, each from the first of: --url/--token; $DROVER_URL/$DROVER_TOKEN; " +
        "\"url\"/\"token\" in $XDG_CONFIG_HOME/drover/config.json (~/.config/drover/config.json); " +
        $"the default address {SettingsResolver.DefaultUrl} (no token).\n\n" +
        "Exit codes: 0 done; 1 the aggregator refused or failed the request (its problem detail on stderr); " +
        "2 a bad command line, configuration or input file (nothing sent); 3 the aggregator cannot be reached; " +
        "4 the token was refused (401: none or unknown; 403: its role may not do this); 5 not found (404). " +
        "certs exits with drover-aggregator's own code.\n\n" +
        "Shell completion: eval \"$(droverctl completion bash)\" (or zsh), see droverctl completion --help.";

    public static RootCommand Create(CliHost host)
    {
        var options = new GlobalOptions();
        var run = new CommandRunner(host, options);
        var root = new RootCommand(Description);
        options.AddTo(root);
        foreach (var command in ReadCommands.Create(run))
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(EventsCommand.Create(run));
        root.Subcommands.Add(ApplyCommand.Create(run));
        foreach (var command in NodeCommands.Create(run))
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(CertsCommand.Create(host));
        root.Subcommands.Add(CompletionCommand.Create(host));
        return root;
    }

    /// <summary>Runs the command line; the exit code a script can trust.</summary>
    public static async Task<int> RunAsync(string[] args, CliHost host, CancellationToken cancellationToken = default)
    {
        // certs passes every argument through as it is, --help included: the aggregator's command says what it takes.
        if (args is ["certs", .. var rest])
        {
            return await CertsCommand.RunAsync(host, rest, cancellationToken);
        }

        var root = Create(host);
        var parse = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = host.Out, Error = host.Error };
        var code = await parse.InvokeAsync(configuration, cancellationToken);

        // System.CommandLine answers a parse error with 1; droverctl's usage errors are 2, apart from the aggregator's refusals.
        return parse.Action is ParseErrorAction ? ExitCodes.Usage : code;
    }
}
