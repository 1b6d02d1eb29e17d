namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>
/// A Runtime API command that did not do what it was sent to do: HAProxy unreachable, silent past the timeout,
/// refusing the command, or answering something this client cannot read. The message names the address, the
/// command and what came back (shortened).
/// </summary>
internal sealed class HaproxyRuntimeException : Exception
{
    public HaproxyRuntimeException(string message)
        : base(message)
    {
    }

    public HaproxyRuntimeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public HaproxyRuntimeException(string message, string command, string? reply, Exception? inner = null)
        : base(message, inner)
    {
        Command = command;
        Reply = reply;
    }

    /// <summary>The command as sent, without its newline.</summary>
    public string? Command { get; }

    /// <summary>Everything HAProxy answered (at most 1 MiB), or null when no reply came back.</summary>
    public string? Reply { get; }
}
