namespace Drover.Agent.LocalSocket;

/// <summary>The outcome of a state commit an instance asked for.</summary>
/// <param name="Ok">Whether the commit was done.</param>
/// <param name="Version">The committed snapshot's version when <paramref name="Ok"/>; 0 otherwise.</param>
/// <param name="Error">Why not, when not <paramref name="Ok"/>.</param>
internal sealed record CommitOutcome(bool Ok, ulong Version, string? Error);
