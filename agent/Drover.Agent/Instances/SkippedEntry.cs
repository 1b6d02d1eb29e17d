namespace Drover.Agent.Instances;

/// <summary>An entry of a state directory that a snapshot leaves out, and what it is.</summary>
internal sealed record SkippedEntry(string Name, FileKind Kind);
