using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>What the tests that SIGKILL the aggregator share: a fleet with its aggregator started, the counter's client, and a restart on the same data directory.</summary>
public abstract class AggregatorKillTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    private protected ITestOutputHelper Output { get; } = output;

    private protected Fleet Fleet { get; } = new(output);

    private protected CounterFleet Counter { get; private set; } = null!;

    private protected ChildProcess Aggregator { get; set; } = null!;

    public async Task InitializeAsync()
    {
        Counter = new CounterFleet(Fleet);
        Aggregator = Fleet.StartAggregator();
        await Fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync()
    {
        Counter.Dispose();
        await Fleet.DisposeAsync();
    }
}
