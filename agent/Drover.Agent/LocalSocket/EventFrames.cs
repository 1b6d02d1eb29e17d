using Drover.Agent.LocalSocket.V1;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Agent.LocalSocket;

/// <summary>The local socket's mirror of a numbered status message (local_socket.proto, Event).</summary>
internal static class EventFrames
{
    public static AgentFrame From(ChannelEvent channelEvent)
    {
        var e = channelEvent.Event ?? new StatusEvent();
        var local = new Event
        {
            Sequence = channelEvent.Sequence,
            Channel = e.Channel,
            CallId = e.CallId,
            Status = RequestStatusNames.Of(e.Status),
            Method = e.Method,
            Path = e.Path,
            NodeId = e.NodeId,
            InstanceId = e.InstanceId,
            StatusCode = e.StatusCode,
            DurationMs = e.DurationMs,
            Reason = e.Reason,
            AtUnixMs = e.At?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? 0,
        };
        local.Headers.Add(e.Headers);
        return new AgentFrame { RequestId = 0, Event = local };
    }
}
