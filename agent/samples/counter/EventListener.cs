using System.Net.Sockets;
using Drover.Agent.LocalSocket.V1;
using Google.Protobuf;

namespace Drover.Samples.Counter;

/// <summary>
/// Subscribes, on a local-socket connection of its own, to the status messages of the counter's own
/// set (<c>DROVER_KIND/DROVER_FUNCTION</c>) and keeps the last <see cref="Capacity"/> it received,
/// so a test can check every message arrived in order without a gap. A broken connection is opened
/// again and subscribes after the last sequence received.
/// </summary>
internal sealed class EventListener
{
    public const int Capacity = 10_000;

    private readonly Lock _gate = new();
    private readonly Queue<Received> _received = new();
    private readonly string _channel;
    private readonly TextWriter _log;
    private ulong _last;

    private EventListener(string channel, TextWriter log)
    {
        _channel = channel;
        _log = log;
    }

    /// <summary>What /events answers: one entry per message received, oldest first.</summary>
    internal sealed record Received(ulong Sequence, string CallId, string Status, string InstanceId);

    /// <summary>Starts listening when run by an agent; null otherwise.</summary>
    public static EventListener? Start(TextWriter log)
    {
        var function = Environment.GetEnvironmentVariable("DROVER_FUNCTION");
        if (string.IsNullOrEmpty(function) || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DROVER_LOCAL_SOCKET")))
        {
            log.WriteLine("counter: not run by a drover agent; no status messages to subscribe to.");
            return null;
        }

        var kind = Environment.GetEnvironmentVariable("DROVER_KIND") is "service" ? "service" : "function";
        var listener = new EventListener($"{kind}/{function}", log);
        new Thread(listener.Run) { IsBackground = true, Name = "counter-events" }.Start();
        return listener;
    }

    public Received[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _received];
        }
    }

    private void Run()
    {
        while (true)
        {
            try
            {
                Listen();
            }
            catch (Exception ex) when (ex is SocketException or IOException or InvalidProtocolBufferException)
            {
                _log.WriteLine($"counter: the event subscription broke ({ex.Message}); subscribing again.");
            }

            Thread.Sleep(500);
        }
    }

    private void Listen()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(Environment.GetEnvironmentVariable("DROVER_LOCAL_SOCKET")!));
        using var stream = new NetworkStream(socket, ownsSocket: false);
        SocketFrames.Write(stream, new InstanceFrame
        {
            RequestId = 1,
            Register = new Register
            {
                InstanceId = Environment.GetEnvironmentVariable("DROVER_INSTANCE_ID") ?? "",
                Token = Environment.GetEnvironmentVariable("DROVER_INSTANCE_TOKEN") ?? "",
            },
        });
        Expect(SocketFrames.Read(stream), AgentFrame.KindOneofCase.Registered);
        ulong after;
        lock (_gate)
        {
            after = _last;
        }

        SocketFrames.Write(stream, new InstanceFrame { RequestId = 2, Subscribe = new Subscribe { Channel = _channel, AfterSequence = after } });
        Expect(SocketFrames.Read(stream), AgentFrame.KindOneofCase.Subscribed);
        while (true)
        {
            var frame = SocketFrames.Read(stream);
            if (frame.KindCase == AgentFrame.KindOneofCase.Error)
            {
                throw new IOException($"the agent sent error '{frame.Error.Code}': {frame.Error.Message}");
            }

            if (frame.KindCase != AgentFrame.KindOneofCase.Event)
            {
                continue;
            }

            var e = frame.Event;
            lock (_gate)
            {
                _last = e.Sequence;
                _received.Enqueue(new Received(e.Sequence, e.CallId, e.Status, e.InstanceId));
                if (_received.Count > Capacity)
                {
                    _received.Dequeue();
                }
            }
        }
    }

    private static void Expect(AgentFrame frame, AgentFrame.KindOneofCase kind)
    {
        if (frame.KindCase != kind)
        {
            throw new IOException($"expected {kind} from the agent, got {frame}");
        }
    }
}
