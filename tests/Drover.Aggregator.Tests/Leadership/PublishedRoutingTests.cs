using System.Text.Json;
using Drover.Aggregator.Leadership;
using Drover.Decisions.Routing;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>The routing row as the leader writes it and a follower reads it back.</summary>
public sealed class PublishedRoutingTests
{
    [Fact]
    public void Deserialize_WhatSerializeWrote_TheSameTableAtTheReadersVersion()
    {
        var table = new RoutingTable(
            17,
            [
                new RouteCluster("east", 0.75, [new RouteNode("node-1", "east", 1, 1000, 0, "10.0.0.1:7402"), new RouteNode("node-2", "east", 2, 250, 1, "10.0.0.2:7402")]),
                new RouteCluster("west", 0.25, [new RouteNode("node-3", "west", 1, 500, 0, "[fd00::3]:7402")]),
            ],
            Hosts(("echo", ["node-2", "node-1"]), ("service/api", ["node-3"])),
            Degraded: true,
            Reason: "no cluster is healthy: serving from 'east'")
        {
            Weights = new Dictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal)
            {
                ["echo"] = new Dictionary<string, int>(StringComparer.Ordinal) { ["node-1"] = 3, ["node-2"] = 0 },
            },
        };

        var read = PublishedRouting.Deserialize(PublishedRouting.Serialize(table), 42);

        Assert.Equal(42, read.Version);
        Assert.Equal(table.Clusters.Select(c => (c.Cluster, c.Share)), read.Clusters.Select(c => (c.Cluster, c.Share)));
        for (var i = 0; i < table.Clusters.Count; i++)
        {
            Assert.Equal(table.Clusters[i].Nodes, read.Clusters[i].Nodes);
        }

        Assert.Equal(["echo", "service/api"], read.Hosts.Keys.Order(StringComparer.Ordinal));
        Assert.True(read.Hosts["echo"].SetEquals(["node-1", "node-2"]));
        Assert.True(read.Hosts["service/api"].SetEquals(["node-3"]));
        Assert.Equal(["echo"], read.Weights.Keys);
        Assert.Equal(
            [new KeyValuePair<string, int>("node-1", 3), new KeyValuePair<string, int>("node-2", 0)],
            read.Weights["echo"].OrderBy(w => w.Key, StringComparer.Ordinal));
        Assert.True(read.Degraded);
        Assert.Equal(table.Reason, read.Reason);
    }

    [Fact]
    public void Deserialize_WhatSerializeWroteOfTheEmptyTable_Empty()
    {
        var read = PublishedRouting.Deserialize(PublishedRouting.Serialize(RoutingTable.Empty), 1);

        Assert.Equal(1, read.Version);
        Assert.Empty(read.Clusters);
        Assert.Empty(read.Hosts);
        Assert.Empty(read.Weights);
        Assert.False(read.Degraded);
        Assert.Equal(RoutingTable.Empty.Reason, read.Reason);
    }

    [Fact]
    public void Serialize_HostsInAnyOrder_TheSameJson()
    {
        var one = new RoutingTable(1, [], Hosts(("echo", ["b", "a", "c"])), false, "");
        var other = new RoutingTable(2, [], Hosts(("echo", ["c", "b", "a"])), false, "");

        Assert.Equal(PublishedRouting.Serialize(one), PublishedRouting.Serialize(other));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{ \"clusters\": [")]
    [InlineData("")]
    public void Deserialize_NoTable_JsonException(string json)
        => Assert.ThrowsAny<JsonException>(() => PublishedRouting.Deserialize(json, 1));

    private static Dictionary<string, IReadOnlySet<string>> Hosts(params (string Workload, string[] Nodes)[] hosts)
        => hosts.ToDictionary(h => h.Workload, h => (IReadOnlySet<string>)h.Nodes.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
}
