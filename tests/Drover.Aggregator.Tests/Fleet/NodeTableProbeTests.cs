using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Microsoft.Extensions.Time.Testing;
using static Drover.Aggregator.Tests.Fleet.NodeTableTests;

namespace Drover.Aggregator.Tests.Fleet;

/// <summary>The node table's survival probe bookkeeping: what is outstanding, what a reply answers, what raises Changed.</summary>
public class NodeTableProbeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _table;
    private readonly Guid _stream = Guid.NewGuid();
    private int _changes;

    public NodeTableProbeTests()
    {
        _table = new NodeTable(_time);
        _table.Register(Node("a", 1), _stream);
        _table.Changed += () => _changes++;
    }

    private NodeView View => Assert.Single(_table.Snapshot());

    [Fact]
    public void Snapshot_NoProbeYet_HasNeitherRoundTripNorUnansweredAge()
    {
        Assert.Null(View.ProbeRoundTrip);
        Assert.Null(View.OldestUnansweredProbeAge);
    }

    [Fact]
    public void ProbeSent_AgesUntilAnswered_ThenRoundTripIsKept()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromMilliseconds(30));

        Assert.Equal(TimeSpan.FromMilliseconds(30), View.OldestUnansweredProbeAge);
        Assert.Equal(ProbeReplyOutcome.Accepted, _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive));
        Assert.Equal(TimeSpan.FromMilliseconds(30), View.ProbeRoundTrip);
        Assert.Null(View.OldestUnansweredProbeAge);
    }

    [Fact]
    public void ProbeSent_SequencesIncreaseAcrossNodes()
    {
        var other = Guid.NewGuid();
        _table.Register(Node("b", 2), other);

        var first = _table.ProbeSent("a", _stream);
        var second = _table.ProbeSent("b", other);
        var third = _table.ProbeSent("a", _stream);

        Assert.True(first < second && second < third);
    }

    [Fact]
    public void ProbeSent_AgentThatDoesNotAnswerProbes_IsNotProbedAndStillSurvives()
    {
        var old = Guid.NewGuid();
        _table.Register(Node("old", 2) with { AnswersProbes = false }, old);

        Assert.Null(_table.ProbeSent("old", old));
        _time.Advance(TimeSpan.FromSeconds(2));
        _table.RecordHeartbeat("old", old, 1, NodeSurvival.Alive, out _);

        Assert.True(_table.Snapshot().Single(n => n.NodeId == "old").Survives(new AggregatorOptions()));
    }

    [Fact]
    public void ProbeSent_NotTheCurrentStream_IsNotNoted()
    {
        Assert.Null(_table.ProbeSent("a", Guid.NewGuid()));
        Assert.Null(_table.ProbeSent("nobody", _stream));
        Assert.Null(View.OldestUnansweredProbeAge);
    }

    [Fact]
    public void RecordProbeReply_LaterProbe_AnswersEveryOlderOneAndMeasuresFromItself()
    {
        _table.ProbeSent("a", _stream);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var second = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var third = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromMilliseconds(5));

        Assert.Equal(ProbeReplyOutcome.Accepted, _table.RecordProbeReply("a", _stream, second, NodeSurvival.Alive));

        Assert.Equal(TimeSpan.FromMilliseconds(105), View.ProbeRoundTrip);
        Assert.Equal(TimeSpan.FromMilliseconds(5), View.OldestUnansweredProbeAge);
        Assert.Equal(ProbeReplyOutcome.Accepted, _table.RecordProbeReply("a", _stream, third, NodeSurvival.Alive));
        Assert.Null(View.OldestUnansweredProbeAge);
    }

    [Fact]
    public void RecordProbeReply_UnknownOrAlreadyAnsweredSequence_IsIgnored()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromMilliseconds(10));

        Assert.Equal(ProbeReplyOutcome.UnknownSequence, _table.RecordProbeReply("a", _stream, sequence + 1, NodeSurvival.Alive));
        Assert.Equal(ProbeReplyOutcome.UnknownSequence, _table.RecordProbeReply("a", _stream, 0, NodeSurvival.Alive));
        Assert.Null(View.ProbeRoundTrip);
        Assert.Equal(ProbeReplyOutcome.Accepted, _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive));
        Assert.Equal(ProbeReplyOutcome.UnknownSequence, _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Draining));
        Assert.Equal(NodeSurvival.Alive, View.Survival);
    }

    [Fact]
    public void RecordProbeReply_OldStream_IsIgnored()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        var newer = Guid.NewGuid();
        _table.Register(Node("a", 1), newer);

        Assert.Equal(ProbeReplyOutcome.NotCurrentStream, _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive));
        Assert.Equal(ProbeReplyOutcome.UnknownSequence, _table.RecordProbeReply("a", newer, sequence, NodeSurvival.Alive));
        Assert.Null(View.ProbeRoundTrip);
    }

    [Fact]
    public void Register_NewStream_ClearsOutstandingProbes()
    {
        _table.ProbeSent("a", _stream);
        _time.Advance(TimeSpan.FromSeconds(5));

        _table.Register(Node("a", 1), Guid.NewGuid());

        Assert.Null(View.OldestUnansweredProbeAge);
    }

    [Fact]
    public void RecordProbeReply_ReportedState_BecomesSurvivalWithoutRefreshingTheHeartbeat()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromMilliseconds(700));

        _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Draining);

        Assert.Equal(NodeSurvival.Draining, View.Survival);
        Assert.Equal(TimeSpan.FromMilliseconds(700), View.SinceLastHeartbeat);
        Assert.Equal(1, _changes);
    }

    [Fact]
    public void RecordProbeReply_LostNode_StaysLostUntilItHeartbeats()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_table.MarkLost("a", View.LastHeartbeatTimestamp));

        Assert.Equal(ProbeReplyOutcome.Accepted, _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive));

        Assert.Equal(NodeSurvival.Lost, View.Survival);
    }

    [Fact]
    public void ProbeSent_WindowFull_KeepsTheOldestAndTheNewest()
    {
        var first = _table.ProbeSent("a", _stream)!.Value;
        var sequences = new List<ulong> { first };
        for (var i = 0; i < NodeTable.MaxOutstandingProbes + 3; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            sequences.Add(_table.ProbeSent("a", _stream)!.Value);
        }

        // The oldest is kept: the node's silence is as old as it is.
        Assert.Equal(TimeSpan.FromMilliseconds(100 * (NodeTable.MaxOutstandingProbes + 3)), View.OldestUnansweredProbeAge);

        // One forgotten from the middle is not a probe this table waits for any more.
        Assert.Equal(ProbeReplyOutcome.UnknownSequence, _table.RecordProbeReply("a", _stream, sequences[1], NodeSurvival.Alive));
        Assert.Equal(ProbeReplyOutcome.Accepted, _table.RecordProbeReply("a", _stream, sequences[^1], NodeSurvival.Alive));
        Assert.Null(View.OldestUnansweredProbeAge);
    }

    [Fact]
    public void CheckOverdueProbes_AtTheTimeout_RaisesChangedOnceAndNamesTheNode()
    {
        _table.ProbeSent("a", _stream);
        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));

        var early = _table.CheckOverdueProbes(Timeout);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var due = _table.CheckOverdueProbes(Timeout);
        var again = _table.CheckOverdueProbes(Timeout);

        Assert.Empty(early.NewlyOverdue);
        Assert.Equal(TimeSpan.FromMilliseconds(1), early.NextDue);
        Assert.Equal([("a", Timeout)], due.NewlyOverdue);
        Assert.Null(due.NextDue);
        Assert.Empty(again.NewlyOverdue);
        Assert.Equal(1, _changes);
    }

    [Fact]
    public void RecordProbeReply_EndingAnOverdueSpell_RaisesChanged()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(Timeout);
        _table.CheckOverdueProbes(Timeout);

        _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive);

        Assert.Equal(2, _changes);
    }

    [Fact]
    public void RecordProbeReply_InTimeAndStateUnchanged_DoesNotRaiseChanged()
    {
        var sequence = _table.ProbeSent("a", _stream)!.Value;

        _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive);

        Assert.Equal(0, _changes);
    }

    [Fact]
    public void Changed_RaisedOnDisconnectLostAndSurvivalChange_NotOnSameStateHeartbeat()
    {
        _table.RecordHeartbeat("a", _stream, 1, NodeSurvival.Alive, out _);
        Assert.Equal(0, _changes);
        _table.RecordHeartbeat("a", _stream, 2, NodeSurvival.Draining, out _);
        Assert.Equal(1, _changes);
        _table.Disconnected("a", Guid.NewGuid());
        Assert.Equal(1, _changes);
        _table.Disconnected("a", _stream);
        Assert.Equal(2, _changes);
        _time.Advance(TimeSpan.FromSeconds(5));
        _table.MarkLost("a", View.LastHeartbeatTimestamp);
        Assert.Equal(3, _changes);
        _table.Register(Node("a", 1), Guid.NewGuid());
        Assert.Equal(4, _changes);
    }

    [Fact]
    public void Survives_OverdueProbe_IsFalseUntilAnswered()
    {
        var options = new AggregatorOptions { ProbeTimeoutMs = 1000 };
        var sequence = _table.ProbeSent("a", _stream)!.Value;
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True(View.Survives(options));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(View.Survives(options));

        _table.RecordProbeReply("a", _stream, sequence, NodeSurvival.Alive);
        Assert.True(View.Survives(options));
    }

    [Fact]
    public void Snapshot_NoOverridesAndNothingInHello_GivesTheDefaultsFromTheAgent()
    {
        Assert.Equal((100, NodeSettingSource.Agent, 0, NodeSettingSource.Agent), (View.Weight, View.WeightSource, View.Priority, View.PrioritySource));
    }
}
