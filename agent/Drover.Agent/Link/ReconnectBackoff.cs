namespace Drover.Agent.Link;

/// <summary>
/// Jittered exponential backoff between reconnect attempts: each delay is the previous one times
/// 1.6, capped, then moved by up to ±20% so a fleet that lost its aggregator does not come back in
/// one synchronized wave (the policy of grpc-dotnet's ExponentialBackoffPolicy). Randomness is
/// injected so tests can pin it.
/// </summary>
internal sealed class ReconnectBackoff
{
    public const double Multiplier = 1.6;
    public const double Jitter = 0.2;

    private readonly TimeSpan _initial;
    private readonly TimeSpan _maximum;
    private readonly Random _random;
    private TimeSpan _next;

    public ReconnectBackoff(TimeSpan initial, TimeSpan maximum, Random random)
    {
        _initial = initial;
        _maximum = maximum;
        _random = random;
        _next = initial;
    }

    /// <summary>The delay before the next attempt; grows with every call until <see cref="Reset"/>.</summary>
    public TimeSpan NextDelay()
    {
        var current = _next;
        var grown = current * Multiplier;
        _next = grown > _maximum ? _maximum : grown;
        var factor = 1 + (Jitter * ((_random.NextDouble() * 2) - 1));
        return current * factor;
    }

    /// <summary>After a stream got its Welcome: the next break starts from the initial delay again.</summary>
    public void Reset() => _next = _initial;
}
