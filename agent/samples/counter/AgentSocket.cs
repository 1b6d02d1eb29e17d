using System.Net.Sockets;
using Drover.Agent.LocalSocket.V1;

namespace Drover.Samples.Counter;

/// <summary>
/// The instance side of the agent's local socket: registers with the id and token the agent gave,
/// reports GPU work submitted and completed around each request, and asks for commits. Frames are a
/// 4-byte big-endian length and a protobuf message; requests are answered in order.
/// </summary>
internal sealed class AgentSocket : IDisposable
{
    private readonly Lock _gate = new();
    private Socket _socket;
    private NetworkStream _stream;
    private ulong _nextRequest;
    private ulong _submitted;
    private ulong _completed;

    private AgentSocket(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Connects and registers when run by an agent; null (with a line on <paramref name="log"/>) otherwise.</summary>
    public static AgentSocket? TryConnect(TextWriter log)
    {
        var path = Environment.GetEnvironmentVariable("DROVER_LOCAL_SOCKET");
        var id = Environment.GetEnvironmentVariable("DROVER_INSTANCE_ID");
        var token = Environment.GetEnvironmentVariable("DROVER_INSTANCE_TOKEN");
        if (string.IsNullOrEmpty(path) || string.IsNullOrEmpty(id) || string.IsNullOrEmpty(token))
        {
            log.WriteLine("counter: not run by a drover agent; no local socket.");
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            var agent = new AgentSocket(socket);
            var reply = agent.Call(new InstanceFrame { Register = new Register { InstanceId = id, Token = token } });
            if (reply.KindCase != AgentFrame.KindOneofCase.Registered)
            {
                log.WriteLine($"counter: the agent refused the registration: {reply}");
                agent.Dispose();
                return null;
            }

            return agent;
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            log.WriteLine($"counter: cannot reach the agent's local socket '{path}': {ex.Message}");
            socket.Dispose();
            return null;
        }
    }

    public void Submitted(string? gpu) => Report(gpu, submitted: 1, completed: 0);

    public void Completed(string? gpu) => Report(gpu, submitted: 0, completed: 1);

    /// <summary>Asks the agent to commit the state now; the committed version, or null.</summary>
    public ulong? CommitNow()
    {
        try
        {
            var reply = Call(new InstanceFrame { CommitNow = new CommitNow() });
            return reply.KindCase == AgentFrame.KindOneofCase.CommitResult && reply.CommitResult.Ok ? reply.CommitResult.Version : null;
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

    private void Report(string? gpu, ulong submitted, ulong completed)
    {
        if (gpu is null)
        {
            return;
        }

        try
        {
            lock (_gate)
            {
                _submitted += submitted;
                _completed += completed;
                var report = new ReportGpuWork();
                report.Gpus.Add(new GpuWork { GpuUuid = gpu, Submitted = _submitted, Completed = _completed });
                Call(new InstanceFrame { ReportGpuWork = report });
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // The agent restarted: requests keep being served; reports resume with the next process.
        }
    }

    private AgentFrame Call(InstanceFrame frame)
    {
        lock (_gate)
        {
            try
            {
                return Exchange(frame);
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                // The agent restarted (and adopted this process): register again on its new socket.
                if (frame.KindCase == InstanceFrame.KindOneofCase.Register || !Reconnect())
                {
                    throw;
                }

                return Exchange(frame);
            }
        }
    }

    private bool Reconnect()
    {
        var path = Environment.GetEnvironmentVariable("DROVER_LOCAL_SOCKET")!;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            socket.Dispose();
            return false;
        }

        _stream.Dispose();
        _socket.Dispose();
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        var registered = Exchange(new InstanceFrame
        {
            Register = new Register
            {
                InstanceId = Environment.GetEnvironmentVariable("DROVER_INSTANCE_ID")!,
                Token = Environment.GetEnvironmentVariable("DROVER_INSTANCE_TOKEN")!,
            },
        });
        return registered.KindCase == AgentFrame.KindOneofCase.Registered;
    }

    private AgentFrame Exchange(InstanceFrame frame)
    {
        frame.RequestId = ++_nextRequest;
        SocketFrames.Write(_stream, frame);
        return SocketFrames.Read(_stream);
    }
}
