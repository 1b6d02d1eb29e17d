using Drover.Agent.Instances;

namespace Drover.Agent.Shims;

/// <summary>The gate's answer: the instance a request may go to now, or why none.</summary>
internal readonly record struct GateEntry(GateOutcome Outcome, InstanceTraffic? Instance)
{
    public static GateEntry Entered(InstanceTraffic instance) => new(GateOutcome.Entered, instance);

    public static readonly GateEntry NoInstance = new(GateOutcome.NoInstance, null);
    public static readonly GateEntry QueueFull = new(GateOutcome.QueueFull, null);
    public static readonly GateEntry TimedOut = new(GateOutcome.TimedOut, null);
}
