namespace Drover.Agent.Instances;

/// <summary>An entry of a state directory that a snapshot leaves out, and why (what it is, or whose).</summary>
internal sealed record SkippedEntry(string Name, string Why);
