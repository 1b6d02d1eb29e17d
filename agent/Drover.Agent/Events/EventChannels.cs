using Drover.Protocol.V1;

namespace Drover.Agent.Events;

/// <summary>The channel of a set's status messages: <c>function/&lt;name&gt;</c> or <c>service/&lt;name&gt;</c>.</summary>
internal static class EventChannels
{
    /// <summary>The kind as the instance environment names it (DROVER_KIND): <c>function</c> or <c>service</c>.</summary>
    public static string KindName(WorkloadKind kind) => kind == WorkloadKind.Service ? "service" : "function";

    /// <summary>The channel of the set <paramref name="spec"/> is part of (an unspecified kind is a function).</summary>
    public static string Of(InstanceSpec spec) => $"{KindName(spec.Kind)}/{spec.Function}";
}
