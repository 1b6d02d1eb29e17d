using Drover.Protocol.V1;

namespace Drover.Protocol;

/// <summary>
/// The names an <see cref="InstanceState"/> goes by outside the agent link: in the aggregator's instance table and
/// API, and in both programs' metrics. One spelling for both.
/// </summary>
public static class InstanceStateNames
{
    /// <summary><c>starting</c>, <c>running</c>, <c>restarting</c>, <c>failed</c> or <c>stopped</c> (<c>unknown</c> for anything else).</summary>
    public static string Of(InstanceState state) => state switch
    {
        InstanceState.Starting => "starting",
        InstanceState.Running => "running",
        InstanceState.Restarting => "restarting",
        InstanceState.Failed => "failed",
        InstanceState.Stopped => "stopped",
        _ => "unknown",
    };
}
