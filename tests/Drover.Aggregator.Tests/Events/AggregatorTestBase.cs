using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Events;

/// <summary>
/// A test class given a real aggregator per test (<see cref="TestAggregator"/>, default options),
/// whose log it can read in <see cref="Logged"/>.
/// </summary>
public abstract class AggregatorTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    private TestAggregator? _aggregator;

    /// <summary>The test's output.</summary>
    internal ITestOutputHelper Output { get; } = output;

    /// <summary>What the aggregator logged, also written to the test's output.</summary>
    internal RecordingSink Logged { get; } = new(output);

    internal TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync() => _aggregator = await TestAggregator.StartAsync(logger: Logged.CreateLogger());

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }
}
