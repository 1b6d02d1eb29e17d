using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Link;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Api;

/// <summary>The <c>/v1/nodes</c> endpoints of the HTTP API.</summary>
internal static class NodesApi
{
    public static void MapNodesApi(this IEndpointRouteBuilder app)
    {
        var nodes = app.MapGroup("/v1/nodes");
        nodes.MapGet("/", (NodeTable table, AggregatorOptions options) => table.Snapshot().Select(n => NodeResponse.From(n, options)));
        nodes.MapGet("/{nodeId}", (string nodeId, NodeTable table, AggregatorOptions options) =>
            table.Find(nodeId) is { } node
                ? Results.Ok(NodeResponse.From(node, options))
                : NodeNotFound(nodeId));
        nodes.MapPut("/{nodeId}", PutSettingsAsync);
        nodes.MapDelete("/{nodeId}", (string nodeId, NodeTable table) => table.Forget(nodeId) switch
        {
            ForgetOutcome.Forgotten => Results.NoContent(),
            ForgetOutcome.NotLost => Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Node not lost",
                detail: $"Node '{nodeId}' is not lost; only a lost node can be forgotten (stop its agent first, and wait for the lease)."),
            _ => NodeNotFound(nodeId),
        });
        nodes.MapGet("/{nodeId}/gpus", (string nodeId, NodeTable table) =>
            table.Find(nodeId) is { } node
                ? Results.Ok(GpuResponse.From(node))
                : NodeNotFound(nodeId));
        nodes.MapPost("/{nodeId}/drain", (string nodeId, NodeTable table, AgentConnections connections)
            => SetDraining(nodeId, draining: true, table, connections));
        nodes.MapPost("/{nodeId}/resume", (string nodeId, NodeTable table, AgentConnections connections)
            => SetDraining(nodeId, draining: false, table, connections));
    }

    /// <summary>
    /// Overrides a known node's weight and priority (either or both; null clears one), persisted in
    /// <c>nodes.json</c> before it applies, and answers the node as <c>GET</c> shows it now.
    /// </summary>
    private static async Task<IResult> PutSettingsAsync(string nodeId, HttpRequest request, NodeTable table, AggregatorOptions options)
    {
        var (body, invalid) = await NodeSettingsBody.ReadAsync(request);
        if (invalid is not null)
        {
            return invalid;
        }

        if (!table.ChangeOverride(nodeId, body!.Apply))
        {
            return NodeNotFound(nodeId);
        }

        return table.Find(nodeId) is { } node
            ? Results.Ok(NodeResponse.From(node, options))
            : NodeNotFound(nodeId);
    }

    /// <summary>Sends SetDraining to the node; the node's next heartbeat shows the new state.</summary>
    private static IResult SetDraining(string nodeId, bool draining, NodeTable table, AgentConnections connections)
    {
        if (table.Find(nodeId) is null)
        {
            return NodeNotFound(nodeId);
        }

        var command = new Command { CommandId = Guid.NewGuid().ToString("N"), SetDraining = new SetDraining { Draining = draining } };
        return connections.TrySend(nodeId, command)
            ? Results.Accepted(value: new { commandId = command.CommandId, nodeId, draining })
            : Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Node not connected",
                detail: $"Node '{nodeId}' has no open stream to this aggregator, so the command cannot be delivered.");
    }

    private static IResult NodeNotFound(string nodeId)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such node", detail: $"No node with id '{nodeId}' is known to this aggregator.");
}
