using System.Text.RegularExpressions;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>Checks an instance spec from the aggregator before anything runs or touches the disk.</summary>
internal static partial class InstanceSpecValidator
{
    public const int MaxArgs = 256;
    public const int MaxEnv = 256;
    public const int MaxStringLength = 4096;

    /// <summary>Null when the spec can run, else what is wrong, naming the field.</summary>
    public static string? Validate(InstanceSpec? spec)
    {
        if (spec is null)
        {
            return "spec is missing";
        }

        if (InstanceIds.Validate(spec.InstanceId) is { } idError)
        {
            return idError;
        }

        if (!Names.IsName(spec.Function))
        {
            return $"function = '{spec.Function}'; expected 1-63 characters of a-z 0-9 -";
        }

        if (spec.Version.Length > 128)
        {
            return $"version is {spec.Version.Length} characters; expected at most 128";
        }

        var process = spec.Process;
        if (process is null || process.Command.Length is 0 or > MaxStringLength)
        {
            return "process.command is empty or too long; expected a command of 1-4096 characters";
        }

        if (process.Args.Count > MaxArgs || process.Args.Any(a => a.Length > MaxStringLength))
        {
            return $"process.args: expected at most {MaxArgs} arguments of at most {MaxStringLength} characters";
        }

        if (process.Env.Count > MaxEnv)
        {
            return $"process.env has {process.Env.Count} entries; expected at most {MaxEnv}";
        }

        foreach (var (key, value) in process.Env)
        {
            if (!EnvName().IsMatch(key) || value.Length > MaxStringLength)
            {
                return $"process.env: '{key}' is not an acceptable variable; expected a name of [A-Za-z_][A-Za-z0-9_]* and a value of at most {MaxStringLength} characters";
            }

            if (key.StartsWith("DROVER_", StringComparison.Ordinal) || key is "PORT" or "CUDA_VISIBLE_DEVICES" or "NVIDIA_VISIBLE_DEVICES")
            {
                return $"process.env: '{key}' is set by the agent; expected another name";
            }
        }

        if (process.WorkingDirectory.Length > 0 && !Path.IsPathFullyQualified(process.WorkingDirectory))
        {
            return $"process.workingDirectory = '{process.WorkingDirectory}'; expected an absolute path or empty";
        }

        if (spec.GpuUuids.Count > 64 || spec.GpuUuids.Any(u => u.Length is 0 or > 96 || u.Contains(',', StringComparison.Ordinal)))
        {
            return "gpuUuids: expected at most 64 GPU UUIDs of 1-96 characters";
        }

        if (spec.CommitInterval is { } interval && interval.ToTimeSpan() < TimeSpan.Zero)
        {
            return "commitInterval is negative; expected zero (off) or more";
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvName();
}
