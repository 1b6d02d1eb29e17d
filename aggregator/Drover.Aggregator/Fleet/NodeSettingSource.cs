namespace Drover.Aggregator.Fleet;

/// <summary>Where a node's effective weight or priority comes from.</summary>
internal enum NodeSettingSource
{
    /// <summary>The agent's Hello, or the default when the agent named none.</summary>
    Agent,

    /// <summary>An operator's override (<c>PUT /v1/nodes/{nodeId}</c>), which wins over the agent's value.</summary>
    Override,
}
