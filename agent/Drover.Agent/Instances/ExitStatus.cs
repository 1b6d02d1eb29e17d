namespace Drover.Agent.Instances;

/// <summary>How a process ended: its exit code, or the signal that killed it; unknown for an adopted process.</summary>
internal readonly record struct ExitStatus(int Code, int Signal, bool Known)
{
    public static readonly ExitStatus Unknown = new(0, 0, false);

    /// <summary>.NET reports a process killed by signal N as exit code 128 + N.</summary>
    public static ExitStatus FromExitCode(int code) => code > 128 && code < 128 + 65
        ? new ExitStatus(0, code - 128, true)
        : new ExitStatus(code, 0, true);

    public override string ToString() => !Known ? "ended (exit status unknown: the process was adopted)"
        : Signal != 0 ? $"was killed by signal {Signal}"
        : $"exited with code {Code}";
}
