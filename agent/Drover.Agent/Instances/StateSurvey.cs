namespace Drover.Agent.Instances;

/// <summary>What a look at a state directory found before a snapshot is taken.</summary>
/// <param name="LeastBytes">The least its archive takes (counted only until it passed the limit).</param>
/// <param name="OverLimit">Whether the archive would be larger than the limit: no snapshot is taken.</param>
/// <param name="Skipped">Entries a snapshot leaves out (sockets, FIFOs, device nodes), by path inside the directory.</param>
internal sealed record StateSurvey(long LeastBytes, bool OverLimit, IReadOnlyList<SkippedEntry> Skipped);
