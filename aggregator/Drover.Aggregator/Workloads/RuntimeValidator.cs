using Drover.Aggregator.Functions;
using Drover.Protocol.Specs;

namespace Drover.Aggregator.Workloads;

/// <summary>Checks the runtime of a function or service definition: the process its instances run.</summary>
internal static class RuntimeValidator
{
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

        if (runtime.Command.Length is 0 or > SpecLimits.MaxStringLength)
        {
            return ("runtime.command", "runtime.command is empty or too long: expected a command of 1-4096 characters");
        }

        if (runtime.Args is null || runtime.Args.Count > SpecLimits.MaxArgs || runtime.Args.Any(a => a is null || a.Length > SpecLimits.MaxStringLength))
        {
            return ("runtime.args", $"runtime.args: expected at most {SpecLimits.MaxArgs} strings of at most {SpecLimits.MaxStringLength} characters");
        }

        if (runtime.Env is null || runtime.Env.Count > SpecLimits.MaxEnv)
        {
            return ("runtime.env", $"runtime.env: expected at most {SpecLimits.MaxEnv} entries");
        }

        foreach (var (key, value) in runtime.Env)
        {
            if (!SpecLimits.IsEnvName(key) || key.StartsWith("DROVER_", StringComparison.Ordinal) || key is "PORT" or "CUDA_VISIBLE_DEVICES" or "NVIDIA_VISIBLE_DEVICES" || value is null || value.Length > SpecLimits.MaxStringLength)
            {
                return ("runtime.env", $"runtime.env.{key}: expected a variable name of [A-Za-z_][A-Za-z0-9_]* that the agent does not set itself (DROVER_*, PORT, CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES) and a value of at most {SpecLimits.MaxStringLength} characters");
            }
        }

        if (runtime.WorkingDirectory is null || (runtime.WorkingDirectory.Length > 0 && !Path.IsPathFullyQualified(runtime.WorkingDirectory)))
        {
            return ("runtime.workingDirectory", $"runtime.workingDirectory = '{runtime.WorkingDirectory}': expected an absolute path or empty");
        }

        return null;
    }
}
