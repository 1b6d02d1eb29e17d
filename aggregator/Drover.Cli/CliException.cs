namespace Drover.Cli;

/// <summary>A command that cannot go on: the one-line message for stderr and the exit code that goes with it (<see cref="ExitCodes"/>).</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
