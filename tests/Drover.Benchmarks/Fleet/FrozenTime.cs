namespace Drover.Benchmarks.Fleet;

/// <summary>
/// A clock that does not move: every node stays as fresh as when it registered however long a run lasts, so each
/// measured pass decides on the same fleet (no node ages into lost, no cluster changes state mid-run).
/// </summary>
internal sealed class FrozenTime : TimeProvider
{
    private readonly long _timestamp = System.GetTimestamp();
    private readonly DateTimeOffset _utcNow = System.GetUtcNow();

    public override long GetTimestamp() => _timestamp;

    public override DateTimeOffset GetUtcNow() => _utcNow;
}
