using Drover.Protocol.Events;

using Drover.Protocol.V1;

namespace Drover.Aggregator.Events;

/// <summary>
/// Checks a shim's status message where it enters the aggregator. Every string and list a peer
/// chooses is bounded, so that a numbered message always fits a local-socket frame (64 KiB) when an
/// agent relays it to an instance; a bad message is refused whole, with the field named.
/// </summary>
internal static class StatusEventValidator
{
    public const int MaxCallIdLength = 128;
    public const int MaxMethodLength = 32;
    public const int MaxPathLength = 4096;
    public const int MaxHeaders = 32;
    public const int MaxHeaderNameLength = 128;
    public const int MaxHeaderValueLength = 1024;
    public const int MaxInstanceIdLength = 128;
    public const int MaxReasonLength = 1024;

    /// <summary>Null when <paramref name="statusEvent"/> may be numbered and relayed, else the field, the value and what is accepted.</summary>
    public static string? Validate(StatusEvent statusEvent)
    {
        if (!EventChannels.IsValid(statusEvent.Channel))
        {
            return $"statusEvent.channel = '{Cut(statusEvent.Channel)}'; expected function/<name> or service/<name>, the name 1-63 characters of a-z 0-9 - not starting with -";
        }

        if (!IsPrintable(statusEvent.CallId, MaxCallIdLength))
        {
            return $"statusEvent.callId = '{Cut(statusEvent.CallId)}'; expected at most {MaxCallIdLength} printable ASCII characters";
        }

        if (statusEvent.Status is not (RequestStatus.Accepted or RequestStatus.Started or RequestStatus.Completed or RequestStatus.Failed))
        {
            return $"statusEvent.status = '{statusEvent.Status}'; expected accepted, started, completed or failed";
        }

        if (!IsPrintable(statusEvent.Method, MaxMethodLength))
        {
            return $"statusEvent.method = '{Cut(statusEvent.Method)}'; expected at most {MaxMethodLength} printable ASCII characters";
        }

        if (statusEvent.Path.Length > MaxPathLength)
        {
            return $"statusEvent.path is {statusEvent.Path.Length} characters; expected at most {MaxPathLength}";
        }

        if (statusEvent.Headers.Count > MaxHeaders)
        {
            return $"statusEvent.headers has {statusEvent.Headers.Count} entries; expected at most {MaxHeaders}";
        }

        foreach (var (name, value) in statusEvent.Headers)
        {
            if (name.Length is 0 or > MaxHeaderNameLength || value.Length > MaxHeaderValueLength)
            {
                return $"statusEvent.headers['{Cut(name)}'] is out of bounds; expected names of 1-{MaxHeaderNameLength} and values of at most {MaxHeaderValueLength} characters";
            }
        }

        if (statusEvent.InstanceId.Length > MaxInstanceIdLength)
        {
            return $"statusEvent.instanceId is {statusEvent.InstanceId.Length} characters; expected at most {MaxInstanceIdLength}";
        }

        if (statusEvent.Reason.Length > MaxReasonLength)
        {
            return $"statusEvent.reason is {statusEvent.Reason.Length} characters; expected at most {MaxReasonLength}";
        }

        if (double.IsNaN(statusEvent.DurationMs) || double.IsInfinity(statusEvent.DurationMs) || statusEvent.DurationMs < 0)
        {
            return $"statusEvent.durationMs = {statusEvent.DurationMs}; expected a finite number >= 0";
        }

        return null;
    }

    private static bool IsPrintable(string value, int maxLength)
    {
        if (value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static string Cut(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
