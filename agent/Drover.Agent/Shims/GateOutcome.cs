namespace Drover.Agent.Shims;

/// <summary>How a request fared at a workload's gate.</summary>
internal enum GateOutcome
{
    /// <summary>Handed to an instance with a free slot.</summary>
    Entered,

    /// <summary>No ready instance (or not the one asked for): 503.</summary>
    NoInstance,

    /// <summary>Every slot busy and the queue full: 429.</summary>
    QueueFull,

    /// <summary>Waited in the queue past its timeout: 504.</summary>
    TimedOut,
}
