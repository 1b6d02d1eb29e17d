using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Aggregator.Workloads;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Placement;

/// <summary>
/// Something placement keeps instances of: a function (one instance on every surviving node) or one
/// set of a service (a number of instances of one version).
/// </summary>
/// <param name="Key">The workload's key in the instance table (<see cref="Workloads.WorkloadKeys"/>).</param>
/// <param name="Version">The version its instances run.</param>
/// <param name="Instances">How many instances it wants; null for one on every surviving node.</param>
/// <param name="Spec">The spec of one of its instances, by instance id.</param>
/// <param name="DrainTimeout">How long its instances may finish their requests when stopped; null to stop at once.</param>
internal sealed record Workload(string Key, string Version, int? Instances, Func<string, InstanceSpec> Spec, TimeSpan? DrainTimeout = null)
{
    /// <summary>A function: one instance on every surviving node; <paramref name="keyHashes"/> are its invocation keys'.</summary>
    public static Workload Of(FunctionDefinition function, IReadOnlyList<string> keyHashes)
        => new(function.Name, function.Version, null, id => InstanceActuator.SpecFor(function, keyHashes, id));

    /// <summary>One set of a service: its instance count, drained when it stops; <paramref name="keyHashes"/> are the service's invocation keys'.</summary>
    public static Workload Of(ServiceDefinition set, IReadOnlyList<string> keyHashes) => new(
        WorkloadKeys.ServiceSet(set.Name, set.Version),
        set.Version,
        set.InstanceCount,
        id => InstanceActuator.SpecFor(set.Name, set.Version, set.Runtime, set.CommitIntervalSeconds, set, keyHashes, WorkloadKind.Service, id, set.GpuProbe),
        TimeSpan.FromMilliseconds(set.DrainTimeoutMs));

    /// <summary>Whether an instance of this workload would run with another spec than one of <paramref name="other"/>.</summary>
    public bool SpecDiffers(Workload other) => !Spec("").Equals(other.Spec(""));
}
