using Drover.Protocol.V1;

namespace Drover.Protocol.Events;

/// <summary>
/// The channels status messages travel on: <c>function/&lt;name&gt;</c> and <c>service/&lt;name&gt;</c>,
/// the name following <see cref="Names.IsName"/>.
/// </summary>
public static class EventChannels
{
    public const string FunctionPrefix = "function/";
    public const string ServicePrefix = "service/";

    /// <summary>The aggregator's own channels: one per cluster, its health transitions.</summary>
    public const string ClusterPrefix = "cluster/";

    /// <summary>The aggregator's own channels: one per function, the placement and scaling decisions it carried out.</summary>
    public const string DecisionsPrefix = "decisions/";

    /// <summary>The most status messages one <see cref="StatusEvents"/> carries; a larger one is refused whole.</summary>
    public const int MaxEventsPerMessage = 256;

    /// <summary>The longest channel: the longest prefix and the longest name.</summary>
    public const int MaxLength = 10 + Names.MaxNameLength;

    /// <summary>The kind as the instance environment names it (DROVER_KIND): <c>function</c> or <c>service</c>.</summary>
    public static string KindName(WorkloadKind kind) => kind == WorkloadKind.Service ? "service" : "function";

    /// <summary>The channel of the set <paramref name="spec"/> is part of (an unspecified kind is a function).</summary>
    public static string Of(InstanceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return $"{KindName(spec.Kind)}/{spec.Function}";
    }

    public static string Function(string name) => FunctionPrefix + name;

    public static string Service(string name) => ServicePrefix + name;

    public static string Cluster(string name) => ClusterPrefix + name;

    public static string Decisions(string function) => DecisionsPrefix + function;

    /// <summary>The channel a numbered message is on: its status message's, or its own (markers, cluster and decision messages).</summary>
    public static string Of(ChannelEvent numbered)
    {
        ArgumentNullException.ThrowIfNull(numbered);
        return numbered.Event?.Channel ?? numbered.Channel;
    }

    /// <summary>The call id a numbered message is about; empty for cluster and decision messages and markers.</summary>
    public static string CallIdOf(ChannelEvent numbered)
    {
        ArgumentNullException.ThrowIfNull(numbered);
        return numbered.Event?.CallId ?? "";
    }

    /// <summary>Whether <paramref name="channel"/> is <c>function/&lt;name&gt;</c> or <c>service/&lt;name&gt;</c>: a channel shims publish on.</summary>
    public static bool IsValid(string? channel) => Split(channel) is ("function" or "service", _);

    /// <summary>
    /// The kind (<c>function</c>, <c>service</c>, <c>cluster</c> or <c>decisions</c>) and the name of a
    /// channel; null for anything else.
    /// </summary>
    public static (string Kind, string Name)? Split(string? channel)
    {
        if (channel is null)
        {
            return null;
        }

        foreach (var prefix in (ReadOnlySpan<string>)[FunctionPrefix, ServicePrefix, ClusterPrefix, DecisionsPrefix])
        {
            if (channel.StartsWith(prefix, StringComparison.Ordinal) && Names.IsName(channel[prefix.Length..]))
            {
                return (prefix[..^1], channel[prefix.Length..]);
            }
        }

        return null;
    }
}
