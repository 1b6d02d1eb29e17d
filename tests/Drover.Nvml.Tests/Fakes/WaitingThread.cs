namespace Drover.Nvml.Tests.Fakes;

/// <summary>A wait on an event set made from another thread, begun (or about to begin) when this returns.</summary>
internal static class WaitingThread
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Starts <paramref name="set"/>.Wait(<paramref name="timeout"/>) on a thread of the pool and returns once that thread runs.</summary>
    public static Task<NvmlResult<GpuEvent?>> Start(IGpuEventSet set, TimeSpan timeout)
    {
        using var started = new ManualResetEventSlim();
        var waiting = Task.Run(() =>
        {
            started.Set();
            return set.Wait(timeout);
        });
        Assert.True(started.Wait(Patience), "the waiting thread did not start");
        return waiting;
    }
}
