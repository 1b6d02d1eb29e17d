using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.State;

public sealed class StatePrunerTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly SqliteStateStore _store;
    private readonly InstanceTable _instances;
    private readonly StatePruner _pruner;

    public StatePrunerTests()
    {
        _store = new SqliteStateStore(_directory.Path, NullLogger<SqliteStateStore>.Instance);
        _instances = new InstanceTable(_time);
        _pruner = new StatePruner(_store, _instances, _time, new AggregatorOptions { DeletedStateGraceSeconds = 3600 }, NullLogger<StatePruner>.Instance);
    }

    public void Dispose()
    {
        _pruner.Dispose();
        _store.Dispose();
        _directory.Dispose();
    }

    private async Task CommitAsync(string instanceId, long version)
    {
        var bytes = Snapshots.Bytes(1000, seed: (int)version);
        using var content = new MemoryStream(bytes);
        await _store.CommitAsync(Snapshots.Info(instanceId, version, bytes), content, CancellationToken.None);
    }

    [Fact]
    public async Task PruneAsync_ForgottenInstancePastTheGrace_DeletesItsStateAndKeepsAssignedOnes()
    {
        await CommitAsync("fn-gone-1", 1);
        await CommitAsync("fn-gone-1", 2);
        await CommitAsync("fn-kept-1", 1);
        _instances.Assign("fn-kept-1", "kept", "node-lost");

        var first = await _pruner.PruneAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(59));
        var beforeGrace = await _pruner.PruneAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        var atGrace = await _pruner.PruneAsync(CancellationToken.None);

        Assert.Equal((0, 0, 1), (first, beforeGrace, atGrace));
        Assert.Empty(await _store.ListAsync("fn-gone-1", CancellationToken.None));
        Assert.Single(await _store.ListAsync("fn-kept-1", CancellationToken.None));
    }

    [Fact]
    public async Task PruneAsync_InstanceKnownAgainDuringTheGrace_CountsFromScratch()
    {
        await CommitAsync("fn-a-1", 1);
        await _pruner.PruneAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(50));
        _instances.Assign("fn-a-1", "a", "node-1");
        await _pruner.PruneAsync(CancellationToken.None);
        _instances.Remove("fn-a-1", deleteState: true);
        await _pruner.PruneAsync(CancellationToken.None);

        _time.Advance(TimeSpan.FromMinutes(50));
        var deleted = await _pruner.PruneAsync(CancellationToken.None);

        Assert.Equal(0, deleted);
        Assert.Single(await _store.ListAsync("fn-a-1", CancellationToken.None));
    }
}
