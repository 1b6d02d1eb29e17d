namespace Drover.Agent.Shims;

/// <summary>What one stdio-mode process gave: its stdout (when it succeeded) or why not, as a sentence.</summary>
internal sealed record StdioResult(StdioOutcome Outcome, int Pid, ReadOnlyMemory<byte> Output, string Reason);
