using Drover.Agent.Heartbeats;
using Drover.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Heartbeats;

public class NodeStateTests
{
    private readonly NodeState _state = new(new FakeTimeProvider(), 5, 7415, TimeSpan.FromSeconds(1));

    [Fact]
    public void NextHeartbeat_CarriesIdentityAndIncreasingSequence()
    {
        var first = _state.NextHeartbeat();
        var second = _state.NextHeartbeat();

        Assert.Equal(1UL, first.Sequence);
        Assert.Equal(2UL, second.Sequence);
        Assert.Equal(5U, second.ServerNumber);
        Assert.Equal(7415U, second.Port);
        Assert.Equal(SurvivalState.Alive, second.Survival);
    }

    [Fact]
    public void SetDraining_ThenBack_ReportsEach()
    {
        Assert.True(_state.SetDraining(true));
        Assert.Equal(SurvivalState.Draining, _state.NextHeartbeat().Survival);

        Assert.True(_state.SetDraining(false));
        Assert.Equal(SurvivalState.Alive, _state.NextHeartbeat().Survival);
    }

    [Fact]
    public void SetDraining_WhenStopping_IsRefusedAndStopsStays()
    {
        _state.SetStopping();

        Assert.False(_state.SetDraining(false));
        Assert.Equal(SurvivalState.Stopping, _state.NextHeartbeat().Survival);
    }

    [Fact]
    public void SetInterval_Changed_RaisesOnceWithTheNewValue()
    {
        var seen = new List<TimeSpan>();
        _state.IntervalChanged += seen.Add;

        _state.SetInterval(TimeSpan.FromMilliseconds(500));
        _state.SetInterval(TimeSpan.FromMilliseconds(500));

        Assert.Equal([TimeSpan.FromMilliseconds(500)], seen);
        Assert.Equal(TimeSpan.FromMilliseconds(500), _state.HeartbeatInterval);
    }
}
