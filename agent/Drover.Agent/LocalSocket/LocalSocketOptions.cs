namespace Drover.Agent.LocalSocket;

/// <summary>Where the local socket listens, and its limits.</summary>
internal sealed class LocalSocketOptions
{
    /// <summary>The default socket path: under systemd's RuntimeDirectory for the agent.</summary>
    public const string DefaultPath = "/run/drover/agent.sock";

    /// <summary>The socket's path (configuration key <c>localSocketPath</c>). At most 107 bytes: the sun_path limit.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>
    /// Whether every local user may connect (mode 0666 instead of 0660): set when a runtime runs its
    /// instances as a user of its own, who is not in the agent's group. Registration still needs an
    /// instance's id and its token.
    /// </summary>
    public bool OpenToEveryone { get; set; }

    /// <summary>How many connections may be open at once; a connection beyond it gets Error <c>unavailable</c> and is closed.</summary>
    public int MaxConnections { get; set; } = 256;

    /// <summary>The largest frame body accepted, in bytes; never more than <see cref="Frames.MaxSize"/>.</summary>
    public int MaxFrameSize { get; set; } = Frames.MaxSize;

    /// <summary>How long a new connection has to send its Register before it is closed (it holds a connection slot).</summary>
    public TimeSpan RegisterTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many status messages may wait to be written to one subscribed connection; beyond it the connection gets Error <c>unavailable</c> and is closed.</summary>
    public int MaxQueuedEvents { get; set; } = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Path) || !System.IO.Path.IsPathFullyQualified(Path) || System.Text.Encoding.UTF8.GetByteCount(Path) > 107)
        {
            throw new ArgumentException($"localSocketPath = '{Path}': expected an absolute path of at most 107 bytes", nameof(Path));
        }

        if (MaxConnections is < 1 or > 65536)
        {
            throw new ArgumentException($"MaxConnections = {MaxConnections}: expected 1-65536", nameof(MaxConnections));
        }

        if (MaxFrameSize is < 1024 or > Frames.MaxSize)
        {
            throw new ArgumentException($"MaxFrameSize = {MaxFrameSize}: expected 1024-{Frames.MaxSize}", nameof(MaxFrameSize));
        }

        if (MaxQueuedEvents is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"MaxQueuedEvents = {MaxQueuedEvents}: expected 1-1000000", nameof(MaxQueuedEvents));
        }

        if (RegisterTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RegisterTimeout = {RegisterTimeout}: expected more than zero", nameof(RegisterTimeout));
        }
    }
}
