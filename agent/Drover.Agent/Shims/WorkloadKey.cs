using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>A function or a service, by name; an unspecified kind is a function.</summary>
internal readonly record struct WorkloadKey(WorkloadKind Kind, string Name)
{
    public static WorkloadKey Function(string name) => new(WorkloadKind.Function, name);

    public static WorkloadKey Service(string name) => new(WorkloadKind.Service, name);

    public static WorkloadKey Of(InstanceSpec spec) => new(spec.Kind == WorkloadKind.Service ? WorkloadKind.Service : WorkloadKind.Function, spec.Function);

    /// <summary>The status-message channel: <c>function/&lt;name&gt;</c> or <c>service/&lt;name&gt;</c>.</summary>
    public string Channel => Kind == WorkloadKind.Service ? $"service/{Name}" : $"function/{Name}";
}
