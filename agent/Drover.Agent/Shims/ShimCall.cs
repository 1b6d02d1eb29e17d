using Drover.Agent.Events;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Agent.Shims;

/// <summary>
/// One request through the shim: its call id, the path the instance sees, the instance chosen, its
/// clock, and the status messages it produces (accepted, started, then completed or failed). A call
/// relayed to another node's shim is that node's to report: this one reports it only when it answers
/// it itself (an error), accepted first, so a subscriber sees each request once.
/// </summary>
internal sealed class ShimCall
{
    private readonly IStatusEventSink _events;
    private readonly TimeProvider _time;
    private readonly long _acceptedAt;
    private readonly Dictionary<string, string> _headers = new(StringComparer.OrdinalIgnoreCase);
    private bool _accepted;
    private bool _relayed;
    private bool _ended;

    public ShimCall(
        WorkloadKey workload,
        string callId,
        string nodeId,
        string method,
        string instancePath,
        IEnumerable<KeyValuePair<string, string>> eventHeaders,
        IStatusEventSink events,
        TimeProvider time)
    {
        Workload = workload;
        CallId = callId;
        NodeId = nodeId;
        Method = method;
        InstancePath = instancePath;
        _events = events;
        _time = time;
        _acceptedAt = time.GetTimestamp();
        foreach (var (name, value) in eventHeaders)
        {
            _headers[name] = value;
        }
    }

    public WorkloadKey Workload { get; }

    public string CallId { get; }

    public string NodeId { get; }

    public string Method { get; }

    /// <summary>The path the instance sees, with the query string.</summary>
    public string InstancePath { get; }

    /// <summary>The instance chosen (this node's or another's), once one is.</summary>
    public string? InstanceId { get; private set; }

    public double ElapsedMs => _time.GetElapsedTime(_acceptedAt).TotalMilliseconds;

    /// <summary>Whether the call went to another node's shim, which reports it.</summary>
    public bool Relayed => _relayed;

    /// <summary>Taken in (once).</summary>
    public void Accepted()
    {
        if (!_accepted)
        {
            _accepted = true;
            Publish(RequestStatus.Accepted, 0, "");
        }
    }

    public void Started(string instanceId)
    {
        InstanceId = instanceId;
        Accepted();
        Publish(RequestStatus.Started, 0, "");
    }

    /// <summary>Handed to another node's shim for <paramref name="instanceId"/>; nothing is published for it.</summary>
    public void Relay(string instanceId)
    {
        InstanceId = instanceId;
        _relayed = true;
    }

    /// <summary>The instance answered; the first end of a call wins.</summary>
    public void Completed(int statusCode)
    {
        if (!_ended)
        {
            _ended = true;
            if (!_relayed)
            {
                Publish(RequestStatus.Completed, statusCode, "");
            }
        }
    }

    /// <summary>The shim answered the call itself (an error); the first end of a call wins.</summary>
    public void Failed(int statusCode, string reason)
    {
        if (!_ended)
        {
            _ended = true;
            Accepted();
            Publish(RequestStatus.Failed, statusCode, reason);
        }
    }

    private void Publish(RequestStatus status, int statusCode, string reason)
    {
        var message = new StatusEvent
        {
            Channel = Workload.Channel,
            CallId = CallId,
            Status = status,
            Method = Method,
            Path = InstancePath,
            NodeId = NodeId,
            InstanceId = InstanceId ?? "",
            StatusCode = (uint)statusCode,
            DurationMs = status is RequestStatus.Completed or RequestStatus.Failed ? ElapsedMs : 0,
            Reason = reason,
            At = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
        };
        message.Headers.Add(_headers);
        _events.Publish(message);
    }
}
