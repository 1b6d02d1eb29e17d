namespace Drover.Aggregator.Functions;

/// <summary>The runtime <c>process</c>: a command with arguments, environment and working directory.</summary>
internal sealed record ProcessRuntimeDefinition
{
    public string Type { get; init; } = "process";

    public string Command { get; init; } = "";

    public IReadOnlyList<string> Args { get; init; } = [];

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public string WorkingDirectory { get; init; } = "";
}
