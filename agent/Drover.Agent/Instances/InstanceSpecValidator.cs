using Drover.Protocol;
using Drover.Protocol.Specs;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>Checks an instance spec from the aggregator before anything runs or touches the disk.</summary>
internal static class InstanceSpecValidator
{
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
        if (process is null || process.Command.Length is 0 or > SpecLimits.MaxStringLength)
        {
            return "process.command is empty or too long; expected a command of 1-4096 characters";
        }

        if (process.Args.Count > SpecLimits.MaxArgs || process.Args.Any(a => a.Length > SpecLimits.MaxStringLength))
        {
            return $"process.args: expected at most {SpecLimits.MaxArgs} arguments of at most {SpecLimits.MaxStringLength} characters";
        }

        if (process.Env.Count > SpecLimits.MaxEnv)
        {
            return $"process.env has {process.Env.Count} entries; expected at most {SpecLimits.MaxEnv}";
        }

        foreach (var (key, value) in process.Env)
        {
            if (!SpecLimits.IsEnvName(key) || value.Length > SpecLimits.MaxStringLength)
            {
                return $"process.env: '{key}' is not an acceptable variable; expected a name of [A-Za-z_][A-Za-z0-9_]* and a value of at most {SpecLimits.MaxStringLength} characters";
            }

            // Other protected names (DROVER_*, LD_*, CUDA_*, PATH) are the runtime allowlist's to allow.
            if (InstanceEnvironment.AgentSet.Contains(key))
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

        if (!Enum.IsDefined(spec.Kind))
        {
            return $"kind = {(int)spec.Kind}; expected a function or a service";
        }

        return spec.Shim is null ? null : ValidateShim(spec.Shim);
    }

    private static string? ValidateShim(ShimSpec shim)
    {
        if (!Enum.IsDefined(shim.Mode))
        {
            return $"shim.mode = {(int)shim.Mode}; expected http or stdio";
        }

        if (shim.Concurrency > SpecLimits.MaxConcurrency)
        {
            return $"shim.concurrency = {shim.Concurrency}; expected 1-{SpecLimits.MaxConcurrency} (0 means 1)";
        }

        if (shim.QueueLength > SpecLimits.MaxQueueLength)
        {
            return $"shim.queueLength = {shim.QueueLength}; expected 0-{SpecLimits.MaxQueueLength}";
        }

        if (shim.Timeout is { } timeout && (timeout.ToTimeSpan() < TimeSpan.Zero || timeout.ToTimeSpan() > SpecLimits.MaxTimeout))
        {
            return $"shim.timeout is {timeout.ToTimeSpan().TotalSeconds:0.###} s; expected up to {SpecLimits.MaxTimeout.TotalSeconds:0} s (unset means 30 s)";
        }

        if (shim.EventHeaders.Count > SpecLimits.MaxEventHeaders || shim.EventHeaders.Any(h => !SpecLimits.IsHeaderName(h)))
        {
            return $"shim.eventHeaders: expected at most {SpecLimits.MaxEventHeaders} header names of 1-128 characters";
        }

        if (!SpecLimits.AreKeyHashes(shim.KeySha256))
        {
            return $"shim.keySha256: expected at most {SpecLimits.MaxInvocationKeys} SHA-256 hashes of 64 lowercase hexadecimal digits";
        }

        if (shim.HealthPath.Length > SpecLimits.MaxHealthPathLength || (shim.HealthPath.Length > 0 && (shim.HealthPath[0] != '/' || !Uri.IsWellFormedUriString(shim.HealthPath, UriKind.Relative))))
        {
            return $"shim.healthPath = '{shim.HealthPath}'; expected empty or a path starting with / of at most {SpecLimits.MaxHealthPathLength} characters";
        }

        return null;
    }
}
