using System.Data.Common;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;

namespace Drover.Aggregator.State;

/// <summary>
/// Deletes the kept state of instances the aggregator has forgotten, once they have stayed
/// forgotten for <c>deletedStateGraceSeconds</c>: what <see cref="StateRetention"/> decides, every
/// <see cref="Period"/> on the injected clock. Old versions of known instances are not its business:
/// the store drops them with the commit that makes them surplus (<c>stateVersionsKept</c>).
/// </summary>
internal sealed partial class StatePruner : BackgroundService
{
    /// <summary>How often the store is weighed; a listing of descriptions, never of archives.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private readonly IStateStore _store;
    private readonly InstanceTable _instances;
    private readonly TimeProvider _time;
    private readonly TimeSpan _grace;
    private readonly ILogger<StatePruner> _logger;
    private IReadOnlyDictionary<string, DateTimeOffset> _unknownSince = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);

    public StatePruner(IStateStore store, InstanceTable instances, TimeProvider time, AggregatorOptions options, ILogger<StatePruner> logger)
    {
        _store = store;
        _instances = instances;
        _time = time;
        _grace = options.DeletedStateGrace;
        _logger = logger;
    }

    /// <summary>One pass: weighs the store and deletes what the decision says. Returns how many instances' state went.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var stored = await _store.ListInstancesAsync(cancellationToken);

        // The table is read after the store: an instance placed in between is known, not pruned.
        var known = _instances.Snapshot().Select(i => i.InstanceId).ToHashSet(StringComparer.Ordinal);
        var plan = StateRetention.Decide(stored, known, _unknownSince, _time.GetUtcNow(), _grace);
        _unknownSince = plan.UnknownSince;
        var deleted = 0;
        foreach (var instance in plan.Delete)
        {
            // Known again since the table was read (placed again): keep it, and count from scratch if it goes.
            if (_instances.AssignedNode(instance.InstanceId) is not null)
            {
                continue;
            }

            await _store.DeleteInstanceAsync(instance.InstanceId, cancellationToken);
            Log.StateDeleted(_logger, instance.InstanceId, instance.FunctionName, instance.Versions, instance.LatestVersion, (long)_grace.TotalSeconds);
            deleted++;
        }

        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Period, _time, stoppingToken);
                try
                {
                    await PruneAsync(stoppingToken);
                }
                catch (DbException ex)
                {
                    // The store is unwell: what to delete is still there next period.
                    Log.PruneFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1307, EventName = "ForgottenInstanceStateDeleted", Level = LogLevel.Information,
            Message = "Deleted the {Count} kept snapshots (newest version {Version}) of instance '{InstanceId}' of '{Function}': the aggregator has not known the instance for {GraceSeconds} s.")]
        public static partial void StateDeleted(ILogger logger, string instanceId, string function, int count, long version, long graceSeconds);

        [LoggerMessage(EventId = 1308, EventName = "StatePruneFailed", Level = LogLevel.Warning,
            Message = "Could not prune the state of forgotten instances; trying again next period.")]
        public static partial void PruneFailed(ILogger logger, Exception exception);
    }
}
