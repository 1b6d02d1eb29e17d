using Microsoft.Extensions.Hosting.Systemd;

namespace Drover.Testing;

/// <summary>A systemd notifier that counts keep-alives instead of writing to a NOTIFY_SOCKET, and can be awaited.</summary>
internal sealed class RecordingNotifier : ISystemdNotifier
{
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private int _keepAlives;

    public bool IsEnabled => true;

    public int KeepAlives => Volatile.Read(ref _keepAlives);

    public void Notify(ServiceState state)
    {
        if (state.ToString() != "WATCHDOG=1")
        {
            return;
        }

        lock (_waiters)
        {
            var count = Interlocked.Increment(ref _keepAlives);
            foreach (var waiter in _waiters.Where(w => w.Count <= count).ToList())
            {
                waiter.Done.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Completes once at least <paramref name="count"/> keep-alives have gone out (30 s at most).</summary>
    public Task WaitForKeepAlivesAsync(int count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (KeepAlives >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((count, done));
        }

        return done.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
