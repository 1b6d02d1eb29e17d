using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Link;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Drover.Aggregator.Tests.Fleet.NodeTableTests;

namespace Drover.Aggregator.Tests.Fleet;

public class SurvivalProberTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _table;
    private readonly AgentConnections _connections = new();
    private readonly AggregatorOptions _options = new() { MonitorPeriodMs = 1000, ProbeTimeoutMs = 1000 };
    private readonly SurvivalProber _prober;

    public SurvivalProberTests()
    {
        _table = new NodeTable(_time);
        _prober = new SurvivalProber(_table, _connections, _options, _time, NullLogger<SurvivalProber>.Instance);
    }

    private AgentConnection Connect(string nodeId, int serverNumber)
    {
        var connection = new AgentConnection(nodeId, Guid.NewGuid());
        _table.Register(Node(nodeId, serverNumber), connection.Id);
        _connections.Add(connection);
        return connection;
    }

    private static List<SurvivalProbe> Probes(AgentConnection connection)
    {
        var probes = new List<SurvivalProbe>();
        while (connection.UrgentOutbox.TryRead(out var message))
        {
            if (message.KindCase == AggregatorMessage.KindOneofCase.SurvivalProbe)
            {
                probes.Add(message.SurvivalProbe);
            }
        }

        return probes;
    }

    [Fact]
    public void Tick_First_SendsOneProbePerConnectedNodeAndWaitsAPeriod()
    {
        var a = Connect("a", 1);
        var b = Connect("b", 2);

        var wait = _prober.Tick();

        Assert.Single(Probes(a));
        Assert.Single(Probes(b));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        Assert.All(_table.Snapshot(), n => Assert.Equal(TimeSpan.Zero, n.OldestUnansweredProbeAge));
    }

    [Fact]
    public void Tick_BeforeThePeriod_SendsNothing()
    {
        var a = Connect("a", 1);
        _prober.Tick();
        Probes(a);
        _time.Advance(TimeSpan.FromMilliseconds(400));

        var wait = _prober.Tick();

        Assert.Empty(Probes(a));
        Assert.Equal(TimeSpan.FromMilliseconds(600), wait);
    }

    [Fact]
    public void Tick_UnansweredPastTheTimeout_RaisesChangedBeforeTheNextRound()
    {
        var a = Connect("a", 1);
        var changes = 0;
        _table.Changed += () => changes++;
        _prober.Tick();
        _time.Advance(TimeSpan.FromSeconds(1));

        _prober.Tick();

        Assert.Equal(1, changes);
        Assert.Equal(2, Probes(a).Count);
        Assert.False(_table.Snapshot()[0].Survives(_options));
    }

    [Fact]
    public void Tick_ProbeTimeoutShorterThanThePeriod_WakesAtTheTimeout()
    {
        _options.ProbeTimeoutMs = 300;
        Connect("a", 1);
        var changes = 0;
        _table.Changed += () => changes++;

        var wait = _prober.Tick();
        _time.Advance(wait);
        _prober.Tick();

        Assert.Equal(TimeSpan.FromMilliseconds(300), wait);
        Assert.Equal(1, changes);
    }

    [Fact]
    public void Tick_AnsweredInTime_NodeSurvivesAndRoundTripIsKept()
    {
        var a = Connect("a", 1);
        var changes = 0;
        _table.Changed += () => changes++;
        _prober.Tick();
        var probe = Assert.Single(Probes(a));
        _time.Advance(TimeSpan.FromMilliseconds(3));
        _table.RecordProbeReply("a", a.Id, probe.Sequence, NodeSurvival.Alive);
        _time.Advance(TimeSpan.FromMilliseconds(997));

        _prober.Tick();

        Assert.Equal(0, changes);
        var view = Assert.Single(_table.Snapshot());
        Assert.Equal(TimeSpan.FromMilliseconds(3), view.ProbeRoundTrip);
        Assert.True(view.Survives(_options));
    }

    [Fact]
    public void Tick_FullOutbox_LeavesTheProbeOutstanding()
    {
        var a = Connect("a", 1);
        while (a.TrySendUrgent(new AggregatorMessage { SurvivalProbe = new SurvivalProbe { Sequence = 0 } }))
        {
        }

        _prober.Tick();

        Assert.Equal(TimeSpan.Zero, _table.Snapshot()[0].OldestUnansweredProbeAge);
        Assert.All(Probes(a), p => Assert.Equal(0UL, p.Sequence));
    }
}
