namespace Drover.Agent.LocalSocket;

/// <summary>Where the GPU work counters that instances report on the local socket go.</summary>
internal interface IGpuWorkSink
{
    /// <summary>
    /// The latest cumulative counters of one instance on one GPU: work items submitted and completed
    /// since the instance started. Values arrive validated (UUID 1-96 printable characters), but
    /// <paramref name="completed"/> may exceed <paramref name="submitted"/> in a bad report.
    /// </summary>
    void Report(string instanceId, string gpuUuid, ulong submitted, ulong completed);

    /// <summary>Drops everything the instance reported: its last local socket connection closed.</summary>
    void Forget(string instanceId);
}
