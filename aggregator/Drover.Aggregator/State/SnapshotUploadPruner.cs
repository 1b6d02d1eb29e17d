namespace Drover.Aggregator.State;

/// <summary>
/// Calls <see cref="SnapshotAssembler.PruneStale"/> every quarter of the idle timeout, so an upload
/// an agent abandoned mid-way gives its disk and its slot back soon after the timeout.
/// </summary>
internal sealed class SnapshotUploadPruner : BackgroundService
{
    private readonly SnapshotAssembler _assembler;
    private readonly TimeProvider _time;

    public SnapshotUploadPruner(SnapshotAssembler assembler, TimeProvider time)
    {
        _assembler = assembler;
        _time = time;
    }

    public TimeSpan Period => _assembler.IdleTimeout / 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Period, _time, stoppingToken);
                _assembler.PruneStale();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
