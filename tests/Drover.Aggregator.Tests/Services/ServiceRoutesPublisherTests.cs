using Drover.Aggregator.Link;
using Drover.Aggregator.Services;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Services;

public class ServiceRoutesPublisherTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly AgentConnections _connections = new();
    private readonly CommandResults _results;
    private readonly ServiceRoutesPublisher _publisher;
    private readonly Dictionary<string, AgentConnection> _nodes = new(StringComparer.Ordinal);

    public ServiceRoutesPublisherTests()
    {
        _results = new CommandResults(_time);
        _publisher = new ServiceRoutesPublisher(_connections, _results, _time, NullLogger<ServiceRoutesPublisher>.Instance);
        foreach (var node in new[] { "a", "b" })
        {
            var connection = new AgentConnection(node, Guid.NewGuid());
            _connections.Add(connection);
            _nodes[node] = connection;
        }
    }

    private static SetServiceRoutes Routes(params string[] instances)
    {
        var routes = new SetServiceRoutes { Service = "web", Policy = BalancingPolicy.LeastInFlight };
        routes.Routes.Add(instances.Select(i => new ServiceRoute { InstanceId = i, NodeId = "a", Address = "127.0.0.1:7411", Version = "1" }));
        return routes;
    }

    private List<Command> Sent(string node)
    {
        var commands = new List<Command>();
        while (_nodes[node].Outbox.TryRead(out var message))
        {
            commands.Add(message.Command);
        }

        return commands;
    }

    private void Acknowledge(string node, Command command, bool ok = true)
        => _results.Complete(node, new CommandResult { CommandId = command.CommandId, Ok = ok, Error = ok ? "" : "no" });

    [Fact]
    public void Publish_SentToEveryNodeUntilAcknowledged_ThenAcknowledged()
    {
        _publisher.Publish(Routes("w1", "w2"));
        _publisher.Flush(["a", "b"]);
        var toA = Assert.Single(Sent("a"));
        var toB = Assert.Single(Sent("b"));
        Assert.Equal(["w1", "w2"], toA.SetServiceRoutes.Routes.Select(r => r.InstanceId));
        Assert.False(_publisher.IsAcknowledged("web", ["a", "b"]));

        Acknowledge("a", toA);
        Assert.False(_publisher.IsAcknowledged("web", ["a", "b"]));
        Assert.True(_publisher.IsAcknowledged("web", ["a"]));

        // b did not answer: sent again once the resend delay passed, not before.
        _publisher.Flush(["a", "b"]);
        Assert.Empty(Sent("b"));
        _time.Advance(ServiceRoutesPublisher.ResendAfter);
        _publisher.Flush(["a", "b"]);
        Assert.Empty(Sent("a"));
        Acknowledge("b", Assert.Single(Sent("b")));
        Assert.True(_publisher.IsAcknowledged("web", ["a", "b"]));
    }

    [Fact]
    public void Publish_SameRoutesAgain_NoNewVersion_ChangedRoutes_NewerVersion()
    {
        _publisher.Publish(Routes("w1"));
        _publisher.Flush(["a"]);
        var first = Assert.Single(Sent("a"));
        Acknowledge("a", first);

        _publisher.Publish(Routes("w1"));
        _publisher.Flush(["a"]);
        Assert.Empty(Sent("a"));

        _publisher.Publish(Routes("w1", "w2"));
        Assert.False(_publisher.IsAcknowledged("web", ["a"]));
        _publisher.Flush(["a"]);
        Assert.True(Assert.Single(Sent("a")).SetServiceRoutes.RoutesVersion > first.SetServiceRoutes.RoutesVersion);
    }

    [Fact]
    public void RefusedOrForeignAnswer_DoesNotAcknowledge()
    {
        _publisher.Publish(Routes("w1"));
        _publisher.Flush(["a", "b"]);
        var toA = Assert.Single(Sent("a"));
        Acknowledge("b", toA); // b answering a's command
        Acknowledge("a", toA, ok: false);

        Assert.False(_publisher.IsAcknowledged("web", ["a"]));
    }

    [Fact]
    public void Remove_SentAsRemoved_ForgottenOnceEveryNodeApplied()
    {
        _publisher.Publish(Routes("w1"));
        _publisher.Remove("web");
        _publisher.Flush(["a"]);
        var removal = Assert.Single(Sent("a"));
        Assert.True(removal.SetServiceRoutes.Removed);

        Acknowledge("a", removal);
        _publisher.Flush(["a"]);

        Assert.Empty(_publisher.Services);
    }

    [Fact]
    public void Reconnected_NodeGetsTheTableAgainAtOnce_AndIsNotAcknowledgedUntilItAnswersOnTheNewStream()
    {
        _publisher.Publish(Routes("w1"));
        _publisher.Flush(["a"]);
        Acknowledge("a", Assert.Single(Sent("a")));
        Assert.True(_publisher.IsAcknowledged("web", ["a"]));

        // The agent restarted: a new stream, and no table in its memory.
        var again = new AgentConnection("a", Guid.NewGuid());
        _connections.Add(again);
        _nodes["a"] = again;

        Assert.False(_publisher.IsAcknowledged("web", ["a"]));
        _publisher.Flush(["a"]);
        Acknowledge("a", Assert.Single(Sent("a")));
        Assert.True(_publisher.IsAcknowledged("web", ["a"]));
    }

    [Fact]
    public void IsAcknowledged_NoTableYetOrANodeWithoutStream_False()
    {
        Assert.False(_publisher.IsAcknowledged("web", ["a"]));

        _publisher.Publish(Routes("w1"));
        _publisher.Flush(["a", "b"]);
        Acknowledge("a", Assert.Single(Sent("a")));
        Acknowledge("b", Assert.Single(Sent("b")));
        _connections.Remove(_nodes["b"]);

        Assert.False(_publisher.IsAcknowledged("web", ["a", "b"]));
        Assert.True(_publisher.IsAcknowledged("web", ["a"]));
    }
}
