using System.CommandLine;
using System.Diagnostics;

namespace Drover.Cli.Commands;

/// <summary>
/// <c>droverctl certs ...</c>: runs <c>drover-aggregator certs ...</c> with the same arguments and passes its exit
/// code back (0 done, 64 a bad command line, 73 a file that cannot be created). The aggregator's binary is looked
/// for beside droverctl's own executable, then one folder up (./out in a build tree, where droverctl is
/// out/cli/droverctl), then on PATH; without one the exit code is 127.
/// </summary>
internal static class CertsCommand
{
    public const string Program = "drover-aggregator";

    public static Command Create(CliHost host)
    {
        var command = new Command("certs", $"The agent link's CA and certificates: runs '{Program} certs' with these arguments (init [--dir DIR] [--host HOST]..., issue --node NAME [--dir DIR]) and exits with its code")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        var arguments = new Argument<string[]>("ARGS") { Description = $"passed to '{Program} certs' as they are", Arity = ArgumentArity.ZeroOrMore };
        command.Arguments.Add(arguments);
        command.SetAction((parse, cancellationToken) =>
            RunAsync(host, [.. parse.GetValue(arguments) ?? [], .. parse.UnmatchedTokens], cancellationToken));
        return command;
    }

    /// <summary>Runs <c>drover-aggregator certs <paramref name="args"/></c> on droverctl's own stdin, stdout and stderr.</summary>
    public static async Task<int> RunAsync(CliHost host, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (Find(host) is not { } program)
        {
            await host.Error.WriteLineAsync($"droverctl: certs runs '{Program} certs', and no {Program} is beside droverctl ({Beside(host) ?? "unknown"}) nor on PATH; install the drover-aggregator package, or run it where the aggregator is installed");
            return ExitCodes.CommandNotFound;
        }

        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        start.ArgumentList.Add("certs");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new CliException(ExitCodes.CommandNotFound, $"{program} did not start");
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C reached the child too (same process group); wait for it to go rather than leave it behind.
            await process.WaitForExitAsync(CancellationToken.None);
        }

        return process.ExitCode;
    }

    /// <summary>The drover-aggregator to run, or null when there is none.</summary>
    public static string? Find(CliHost host)
    {
        var candidates = new List<string>();
        if (Beside(host) is { } beside)
        {
            candidates.Add(Path.Combine(beside, Program));
            if (Path.GetDirectoryName(beside) is { } parent)
            {
                candidates.Add(Path.Combine(parent, Program));
            }
        }

        foreach (var folder in (host.Environment("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            candidates.Add(Path.Combine(folder, Program));
        }

        return candidates.FirstOrDefault(IsExecutable);
    }

    private static string? Beside(CliHost host) => host.ExecutablePath is { } path ? Path.GetDirectoryName(Path.GetFullPath(path)) : null;

    private static bool IsExecutable(string path)
    {
        try
        {
            return File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
