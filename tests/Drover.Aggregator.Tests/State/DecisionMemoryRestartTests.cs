using Drover.Aggregator.Placement;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.Events;
using Drover.Decisions.Scaling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.State;

/// <summary>
/// The decision memory over a restart of a real aggregator host (<see cref="TestAggregator.RestartAsync"/>:
/// a new host on the same data directory), on a fake clock.
/// </summary>
public sealed class DecisionMemoryRestartTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync() => _aggregator = await TestAggregator.StartAsync(_time);

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restart_NodePenalised_StillPenalisedForWhatIsLeft()
    {
        Aggregator.Services.GetRequiredService<NodePenalties>().Penalise("node-a");
        _time.Advance(TimeSpan.FromSeconds(30));

        await Aggregator.RestartAsync();

        var penalties = Aggregator.Services.GetRequiredService<NodePenalties>();
        Assert.Equal(["node-a"], penalties.Current());
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(penalties.Current());
    }

    [Fact]
    public async Task Restart_FunctionInAScaleDownWindow_WindowNotReset()
    {
        // Kept as the reconciler keeps a pass's windows (no autoscaled function here, so no pass changes them).
        Assert.True(Aggregator.Services.GetRequiredService<IDecisionMemoryStore>().SaveScalingWindows(
            new Dictionary<string, ScalingPrevious> { ["counter"] = new(TimeSpan.FromSeconds(42)) }));

        await Aggregator.RestartAsync();

        var loaded = Aggregator.Services.GetRequiredService<ScalingWindows>().Loaded;
        Assert.Equal(TimeSpan.FromSeconds(42), Assert.Single(loaded, w => w.Key == "counter").Value.BelowFor);
    }
}
