using System.Net.Http.Headers;
using System.Text.Json;

namespace Drover.FleetSim;

/// <summary>The aggregator's management API as the simulator reads it: the node list, one node and the leader, with a read token.</summary>
internal sealed class FleetApi(HttpClient http, int port, string token)
{
    /// <summary>One node's state in GET /v1/nodes.</summary>
    public readonly record struct NodeState(bool Connected, string Survival, ulong LastSequence);

    /// <summary>GET /v1/leader: this aggregator, its role, the term, and the leader it names (null: none reachable).</summary>
    public sealed record Leadership(string AggregatorId, string Role, long Term, string? LeaderId, string? LeaderLinkUrl);

    /// <summary>Who leads, as this aggregator knows it.</summary>
    public async Task<Leadership> LeaderAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync("/v1/leader", cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        var root = document.RootElement;
        var leader = root.TryGetProperty("leader", out var l) && l.ValueKind == JsonValueKind.Object ? l : (JsonElement?)null;
        return new Leadership(
            root.GetProperty("aggregatorId").GetString()!,
            root.GetProperty("role").GetString()!,
            root.GetProperty("term").GetInt64(),
            leader?.GetProperty("aggregatorId").GetString(),
            leader?.GetProperty("linkUrl").GetString());
    }

    /// <summary>Every node the aggregator knows, by id.</summary>
    public async Task<Dictionary<string, NodeState>> NodesAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync("/v1/nodes", cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        var nodes = new Dictionary<string, NodeState>(document.RootElement.GetArrayLength());
        foreach (var node in document.RootElement.EnumerateArray())
        {
            nodes[node.GetProperty("nodeId").GetString()!] = Read(node);
        }

        return nodes;
    }

    /// <summary>One node (null: unknown to the aggregator).</summary>
    public async Task<NodeState?> NodeAsync(string nodeId, CancellationToken cancellationToken)
    {
        using var response = await SendAsync($"/v1/nodes/{nodeId}", cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return Read(document.RootElement);
    }

    private static NodeState Read(JsonElement node) => new(
        node.GetProperty("connected").GetBoolean(),
        node.GetProperty("survival").GetString()!,
        node.GetProperty("lastSequence").GetUInt64());

    /// <summary>Whether the API answers (false while the aggregator is not listening yet).</summary>
    public async Task<bool> ReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await SendAsync("/v1/clusters", cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{path}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }
}
