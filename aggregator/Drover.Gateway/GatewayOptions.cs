namespace Drover.Gateway;

/// <summary>The gateway's settings (section <c>Gateway</c> of the aggregator's configuration when the host binds it).</summary>
public sealed class GatewayOptions
{
    /// <summary>The most request-body bytes buffered so a failed request can be retried on another node; a larger (or unknown-length) body is not retried.</summary>
    public long MaxRetryBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The most request-body bytes held in memory while buffering for a retry; beyond it the buffer moves to a temporary file.</summary>
    public int RetryBodyMemoryBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The longest a retry waits for the next routing table before it picks again, so it routes by a
    /// table that has seen the failed node go (the health loop rebuilds it at once when a node disconnects).
    /// </summary>
    public int RetryBackoffMs { get; set; } = 250;

    /// <summary>How long a node that failed a request before answering is left out of new choices (0: never).</summary>
    public int EjectionMs { get; set; } = 2000;

    /// <summary>The error naming the first invalid setting, or null.</summary>
    public string? Validate()
    {
        if (RetryBackoffMs is < 0 or > 10_000)
        {
            return $"gateway:retryBackoffMs = '{RetryBackoffMs}': expected 0 to 10000 milliseconds";
        }

        if (EjectionMs is < 0 or > 600_000)
        {
            return $"gateway:ejectionMs = '{EjectionMs}': expected 0 to 600000 milliseconds";
        }

        if (MaxRetryBodyBytes < 0)
        {
            return $"gateway:maxRetryBodyBytes = '{MaxRetryBodyBytes}': expected 0 (never buffer a body) or more bytes";
        }

        if (RetryBodyMemoryBytes < 0)
        {
            return $"gateway:retryBodyMemoryBytes = '{RetryBodyMemoryBytes}': expected 0 or more bytes";
        }

        return null;
    }
}
