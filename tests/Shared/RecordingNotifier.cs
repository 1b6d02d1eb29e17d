using Microsoft.Extensions.Hosting.Systemd;

namespace Drover.Testing;

/// <summary>A systemd notifier that counts keep-alives instead of writing to a NOTIFY_SOCKET.</summary>
internal sealed class RecordingNotifier : ISystemdNotifier
{
    private int _keepAlives;

    public bool IsEnabled => true;

    public int KeepAlives => Volatile.Read(ref _keepAlives);

    public void Notify(ServiceState state)
    {
        if (state.ToString() == "WATCHDOG=1")
        {
            Interlocked.Increment(ref _keepAlives);
        }
    }
}
