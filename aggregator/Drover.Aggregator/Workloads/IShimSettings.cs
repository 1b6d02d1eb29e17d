namespace Drover.Aggregator.Workloads;

/// <summary>
/// How the node's shims serve a workload's instances: the fields a function and a service definition
/// share, validated by <see cref="ShimSettingsValidator"/> and sent to the agents as a ShimSpec.
/// </summary>
internal interface IShimSettings
{
    /// <summary><c>http</c> (forward to the instance's PORT) or <c>stdio</c> (one process per request).</summary>
    string ShimMode { get; }

    /// <summary>The SLO: the most requests one instance on one node serves at once.</summary>
    int Slo { get; }

    /// <summary>How many requests may wait on one node beyond those served; a full queue answers 429.</summary>
    int QueueLength { get; }

    /// <summary>The longest a request may take, queueing included; a client may only shorten it.</summary>
    int TimeoutMs { get; }

    /// <summary>Request headers copied into the status messages.</summary>
    IReadOnlyList<string> EventHeaders { get; }

    /// <summary>
    /// Whether anyone may invoke it; otherwise only a caller presenting one of its keys
    /// (<c>POST /v1/keys</c>, sent as <c>X-Drover-Api-Key</c>), at the gateway or at a node's shim.
    /// </summary>
    bool Public { get; }

    /// <summary>Mode http: a path the instance answers 2xx on once ready (empty: once its port accepts connections).</summary>
    string HealthPath { get; }
}
