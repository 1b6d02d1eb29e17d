using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Functions;

/// <summary>Checks a function definition where it enters; the first bad field is named with its value and what is accepted.</summary>
internal static class FunctionValidator
{
    /// <summary>Null when the definition is acceptable, else (field, message).</summary>
    public static (string Field, string Message)? Validate(FunctionDefinition definition)
    {
        if (!Names.IsName(definition.Name))
        {
            return ("name", $"name = '{definition.Name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        if (definition.Version.Length is 0 or > 128)
        {
            return ("version", $"version = '{definition.Version}': expected 1-128 characters");
        }

        if (RuntimeValidator.Validate(definition.Runtime) is { } runtimeError)
        {
            return runtimeError;
        }

        if (ShimSettingsValidator.Validate(definition) is { } shimError)
        {
            return shimError;
        }

        if (definition.CommitIntervalSeconds is < 0 or > 86_400)
        {
            return ("commitIntervalSeconds", $"commitIntervalSeconds = {definition.CommitIntervalSeconds}: expected 0 (off) to 86400");
        }

        if (definition.Placement != "every-node")
        {
            return ("placement", $"placement = '{definition.Placement}': expected 'every-node'");
        }

        return null;
    }
}
