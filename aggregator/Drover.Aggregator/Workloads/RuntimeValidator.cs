using System.Text.RegularExpressions;
using Drover.Aggregator.Functions;

namespace Drover.Aggregator.Workloads;

/// <summary>Checks the runtime of a function or service definition: the process its instances run.</summary>
internal static partial class RuntimeValidator
{
    public const int MaxArgs = 256;
    public const int MaxEnv = 256;
    public const int MaxStringLength = 4096;

    /// <summary>Null when acceptable, else (field, message).</summary>
    public static (string Field, string Message)? Validate(ProcessRuntimeDefinition? runtime)
    {
        if (runtime is null)
        {
            return ("runtime", "runtime is missing: expected {\"type\": \"process\", \"command\": ...}");
        }

        if (runtime.Type != "process")
        {
            return ("runtime.type", $"runtime.type = '{runtime.Type}': expected 'process'");
        }

        if (runtime.Command.Length is 0 or > MaxStringLength)
        {
            return ("runtime.command", "runtime.command is empty or too long: expected a command of 1-4096 characters");
        }

        if (runtime.Args is null || runtime.Args.Count > MaxArgs || runtime.Args.Any(a => a is null || a.Length > MaxStringLength))
        {
            return ("runtime.args", $"runtime.args: expected at most {MaxArgs} strings of at most {MaxStringLength} characters");
        }

        if (runtime.Env is null || runtime.Env.Count > MaxEnv)
        {
            return ("runtime.env", $"runtime.env: expected at most {MaxEnv} entries");
        }

        foreach (var (key, value) in runtime.Env)
        {
            if (!EnvName().IsMatch(key) || key.StartsWith("DROVER_", StringComparison.Ordinal) || key is "PORT" or "CUDA_VISIBLE_DEVICES" or "NVIDIA_VISIBLE_DEVICES" || value is null || value.Length > MaxStringLength)
            {
                return ("runtime.env", $"runtime.env.{key}: expected a variable name of [A-Za-z_][A-Za-z0-9_]* that the agent does not set itself (DROVER_*, PORT, CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES) and a value of at most {MaxStringLength} characters");
            }
        }

        if (runtime.WorkingDirectory is null || (runtime.WorkingDirectory.Length > 0 && !Path.IsPathFullyQualified(runtime.WorkingDirectory)))
        {
            return ("runtime.workingDirectory", $"runtime.workingDirectory = '{runtime.WorkingDirectory}': expected an absolute path or empty");
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvName();
}
