using System.CommandLine;

namespace Drover.Cli.Commands;

/// <summary>
/// Runs a command's action with its <see cref="CommandContext"/>, and turns what stops it into its exit code: a
/// <see cref="CliException"/>'s code with its line on stderr, or 130 when it was interrupted (Ctrl-C).
/// </summary>
internal sealed class CommandRunner(CliHost host, GlobalOptions options)
{
    public const int Interrupted = 130;

    public GlobalOptions Options { get; } = options;

    public CliHost Host { get; } = host;

    /// <summary>Sets <paramref name="command"/>'s action: <paramref name="action"/> succeeds (exit 0) or throws.</summary>
    public void Set(Command command, Func<CommandContext, CancellationToken, Task> action)
        => Set(command, async (context, cancellationToken) =>
        {
            await action(context, cancellationToken);
            return ExitCodes.Ok;
        });

    /// <summary>Sets <paramref name="command"/>'s action, which returns its exit code.</summary>
    public void Set(Command command, Func<CommandContext, CancellationToken, Task<int>> action)
        => command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                using var context = CommandContext.Create(parse, Host, Options);
                return await action(context, cancellationToken);
            }
            catch (CliException ex)
            {
                Fail(ex);
                return ex.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Interrupted;
            }
        });

    /// <summary>Writes a failure's line to stderr.</summary>
    public void Fail(CliException ex)
    {
        Host.Error.WriteLine($"droverctl: {ex.Message}");
        Host.Error.Flush();
    }
}
