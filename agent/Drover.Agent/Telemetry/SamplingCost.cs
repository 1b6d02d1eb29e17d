namespace Drover.Agent.Telemetry;

/// <summary>
/// What sampling the GPUs has cost since the agent started: the samples taken and the wall-clock time they took
/// (NVML's calls for every GPU, the health verdicts, the message built). Two counters added once per sample, read by
/// the agent's metrics at each scrape: their ratio is the mean cost of one sample.
/// </summary>
internal sealed class SamplingCost
{
    private long _samples;
    private long _ticks;

    /// <summary>Samples taken.</summary>
    public long Samples => Interlocked.Read(ref _samples);

    /// <summary>The time they took, in seconds.</summary>
    public double Seconds => (double)Interlocked.Read(ref _ticks) / TimeSpan.TicksPerSecond;

    /// <summary>Adds one sample that took <paramref name="elapsed"/>.</summary>
    public void Add(TimeSpan elapsed)
    {
        Interlocked.Add(ref _ticks, elapsed.Ticks);
        Interlocked.Increment(ref _samples);
    }
}
