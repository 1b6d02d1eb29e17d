using Drover.Protocol.V1;

namespace Drover.Protocol.Events;

/// <summary>
/// The names a <see cref="RequestStatus"/> goes by outside the agent link: in the aggregator's event
/// stream and in the local socket's Event frames. One spelling for both programs.
/// </summary>
public static class RequestStatusNames
{
    /// <summary><c>accepted</c>, <c>started</c>, <c>completed</c> or <c>failed</c> (<c>unspecified</c> for anything else).</summary>
    public static string Of(RequestStatus status) => status switch
    {
        RequestStatus.Accepted => "accepted",
        RequestStatus.Started => "started",
        RequestStatus.Completed => "completed",
        RequestStatus.Failed => "failed",
        _ => "unspecified",
    };
}
