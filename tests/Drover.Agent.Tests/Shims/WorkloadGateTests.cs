using Drover.Agent.Instances;
using Drover.Agent.Shims;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Shims;

public sealed class WorkloadGateTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static InstanceTraffic Ready(string id)
    {
        var traffic = new InstanceTraffic(id);
        traffic.SetRunning(true);
        traffic.SetHealthy(true);
        return traffic;
    }

    private static WorkloadGate Gate(int concurrency, int queueLength, params InstanceTraffic[] instances)
    {
        var gate = new WorkloadGate { Concurrency = concurrency, QueueLength = queueLength };
        gate.SetInstances(instances);
        return gate;
    }

    [Fact]
    public async Task EnterAsync_SlotsFree_SpreadsOverInstancesUpToConcurrency()
    {
        var (a, b) = (Ready("a"), Ready("b"));
        var gate = Gate(2, 0, a, b);

        var entries = new List<GateEntry>();
        for (var i = 0; i < 4; i++)
        {
            entries.Add(await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound));
        }

        var fifth = await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);

        Assert.All(entries, e => Assert.Equal(GateOutcome.Entered, e.Outcome));
        Assert.Equal(2, a.InFlight);
        Assert.Equal(2, b.InFlight);
        Assert.Equal(GateOutcome.QueueFull, fifth.Outcome);
        Assert.Equal(4, gate.InFlight);
    }

    [Fact]
    public async Task EnterAsync_QueueFull_AnswersQueueFullAndKeepsTheQueued()
    {
        var a = Ready("a");
        var gate = Gate(1, 2, a);
        var first = await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);
        var second = gate.EnterAsync(null, CancellationToken.None);
        var third = gate.EnterAsync(null, CancellationToken.None);

        var fourth = await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(GateOutcome.Entered, first.Outcome);
        Assert.Equal(GateOutcome.QueueFull, fourth.Outcome);
        Assert.Equal(2, gate.Queued);
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);
    }

    [Fact]
    public async Task Exit_WaitersQueued_HandsSlotsInArrivalOrder()
    {
        var a = Ready("a");
        var gate = Gate(1, 10, a);
        await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);
        var second = gate.EnterAsync(null, CancellationToken.None);
        var third = gate.EnterAsync(null, CancellationToken.None);

        gate.Exit(a);
        var secondEntry = await second.WaitAsync(Bound);

        Assert.Equal(GateOutcome.Entered, secondEntry.Outcome);
        Assert.False(third.IsCompleted);
        gate.Exit(a);
        Assert.Equal(GateOutcome.Entered, (await third.WaitAsync(Bound)).Outcome);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task EnterAsync_WaitsPastTimeout_TimedOutAndLeavesQueue()
    {
        var time = new FakeTimeProvider();
        var a = Ready("a");
        var gate = Gate(1, 5, a);
        await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), time);
        var waiting = gate.EnterAsync(null, timeout.Token);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        var entry = await waiting.WaitAsync(Bound);

        Assert.Equal(GateOutcome.TimedOut, entry.Outcome);
        Assert.Equal(0, gate.Queued);

        // The slot freed later goes to nobody: the timed-out request does not hold it.
        gate.Exit(a);
        Assert.Equal(0, a.InFlight);
    }

    [Fact]
    public async Task EnterAsync_NoReadyInstance_NoInstance()
    {
        var unready = new InstanceTraffic("a");
        unready.SetRunning(true);
        var draining = Ready("b");
        draining.BeginDrain();
        var gate = Gate(1, 5, unready, draining);

        var entry = await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(GateOutcome.NoInstance, entry.Outcome);
    }

    [Fact]
    public async Task EnterAsync_Target_UsesOnlyThatInstance()
    {
        var (a, b) = (Ready("a"), Ready("b"));
        var gate = Gate(1, 5, a, b);
        await gate.EnterAsync(b, CancellationToken.None).WaitAsync(Bound);

        var queued = gate.EnterAsync(b, CancellationToken.None);
        var other = await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);

        Assert.False(queued.IsCompleted);
        Assert.Same(a, other.Instance);
        gate.Exit(b);
        Assert.Same(b, (await queued.WaitAsync(Bound)).Instance);
    }

    [Fact]
    public async Task Pump_InstanceStopsBeingReady_QueuedRequestsGetNoInstance()
    {
        var a = Ready("a");
        var gate = Gate(1, 5, a);
        await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);
        var queued = gate.EnterAsync(null, CancellationToken.None);

        a.BeginDrain();
        gate.Pump();

        Assert.Equal(GateOutcome.NoInstance, (await queued.WaitAsync(Bound)).Outcome);
    }

    [Fact]
    public async Task WaitIdleAsync_RequestInFlight_CompletesWhenItExits()
    {
        var time = new FakeTimeProvider();
        var a = Ready("a");
        var gate = Gate(1, 0, a);
        await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);
        a.BeginDrain();

        var idle = a.WaitIdleAsync(TimeSpan.FromSeconds(30), time);
        Assert.False(idle.IsCompleted);
        gate.Exit(a);

        Assert.True(await idle.WaitAsync(Bound));
    }

    [Fact]
    public async Task WaitIdleAsync_StillInFlightAtTimeout_False()
    {
        var time = new FakeTimeProvider();
        var a = Ready("a");
        var gate = Gate(1, 0, a);
        await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);

        var idle = a.WaitIdleAsync(TimeSpan.FromSeconds(5), time);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.False(await idle.WaitAsync(Bound));
    }

    [Fact]
    public async Task EnterAsync_DrainingInstance_RefusesUnnamedRequests_ServesOnesRoutedToIt()
    {
        var a = Ready("a");
        var gate = Gate(2, 4, a);
        a.BeginDrain();

        var unnamed = await gate.EnterAsync(null, CancellationToken.None).WaitAsync(Bound);
        var routed = await gate.EnterAsync(a, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(GateOutcome.NoInstance, unnamed.Outcome);
        Assert.Equal(GateOutcome.Entered, routed.Outcome);
        Assert.Equal(1, a.InFlight);
    }
}
