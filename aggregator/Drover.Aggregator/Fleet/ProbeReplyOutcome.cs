namespace Drover.Aggregator.Fleet;

/// <summary>What the node table made of a survival probe's reply.</summary>
internal enum ProbeReplyOutcome
{
    /// <summary>The reply answers a probe sent on the node's current stream: recorded.</summary>
    Accepted,

    /// <summary>The stream is not the node's current one (replaced by a reconnect): ignored.</summary>
    NotCurrentStream,

    /// <summary>No probe with that sequence is outstanding on the stream (never sent, already answered, or from an earlier stream): ignored.</summary>
    UnknownSequence,
}
