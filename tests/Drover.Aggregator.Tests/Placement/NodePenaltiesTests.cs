using Drover.Aggregator.Placement;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Decisions.Placement;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Placement;

/// <summary>
/// The node penalties kept in the store: a restart (a reopened store, new penalties) goes on with them by the
/// wall clock. Each step keeps what a pass would return (<see cref="Pass"/>).
/// </summary>
public sealed class NodePenaltiesTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly StoreDirectory _stores = new();
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => _stores.Dispose();

    private SqliteStateStore OpenStore() => _stores.Open();

    [Fact]
    public void Current_StoreReopenedAfterTwentySeconds_PenaltyRunsTheFortyLeft()
    {
        Pass(new NodePenalties(_time, OpenStore()), "n1");
        _time.Advance(TimeSpan.FromSeconds(20));

        var restarted = new NodePenalties(_time, OpenStore());

        Assert.Equal(["n1"], restarted.Current().Keys);
        _time.Advance(TimeSpan.FromSeconds(39));
        Assert.Equal(["n1"], restarted.Current().Keys);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(restarted.Current());
    }

    [Fact]
    public void Current_DownLongerThanThePenalty_NodeNotPenalised()
    {
        var before = new NodePenalties(_time, OpenStore());
        Pass(before, "n1");
        _time.Advance(TimeSpan.FromSeconds(10));
        Pass(before, "n2");

        // Down for 55 s: n1's penalty ended meanwhile, n2's has 5 s left.
        _time.Advance(TimeSpan.FromSeconds(55));
        var restarted = new NodePenalties(_time, OpenStore());

        Assert.Equal(["n2"], restarted.Current().Keys);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(restarted.Current());
    }

    [Theory]
    [InlineData(-1, null)] // ended while the aggregator was down
    [InlineData(0, null)] // ends now
    [InlineData(1, 1)]
    [InlineData(60, 60)]
    [InlineData(3600, 60)] // the wall clock was set back: never longer than one failure's penalty
    public void Remaining_EndTime_TimeLeftAtMostOnePenalty(int endsInSeconds, int? leftSeconds)
    {
        var remaining = NodePenalties.Remaining(
            new Dictionary<string, DateTimeOffset> { ["n1"] = Now.AddSeconds(endsInSeconds) },
            Now,
            NodePenalties.Duration);

        TimeSpan? expected = leftSeconds is { } left ? TimeSpan.FromSeconds(left) : null;
        Assert.Equal(expected, remaining.TryGetValue("n1", out var value) ? value : null);
    }

    [Fact]
    public void Keep_PenaltyRunning_WritesOnlyWhenAPenaltyStartsOrEnds()
    {
        var store = new RecordingMemoryStore();
        var penalties = new NodePenalties(_time, store);

        Pass(penalties, "n1");
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            Pass(penalties);
        }

        Assert.Equal(Now.AddSeconds(60), Assert.Single(store.PenaltySaves)["n1"]);
        _time.Advance(TimeSpan.FromSeconds(10));
        Pass(penalties);
        Assert.Empty(penalties.Current());
        Assert.Equal(2, store.PenaltySaves.Count);
        Assert.Empty(store.PenaltySaves[^1]);
    }

    [Fact]
    public void Keep_StoreFails_PenaltyStillHoldsInMemory()
    {
        var store = new RecordingMemoryStore { Fail = true };
        var penalties = new NodePenalties(_time, store);

        Pass(penalties, "n1");

        Assert.Equal(["n1"], penalties.Current().Keys);
    }

    /// <summary>What a pass does with the penalties: lets them run, penalises the nodes whose starts failed now, and keeps the result.</summary>
    private static void Pass(NodePenalties penalties, params string[] failedNow)
        => penalties.Keep(NodePenalty.Advance(penalties.Current(), TimeSpan.Zero, failedNow, NodePenalty.Duration));
}
