using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using Drover.Agent.Events;
using Drover.Agent.LocalSocket.V1;

namespace Drover.Agent.LocalSocket;

/// <summary>
/// The local socket: a Unix domain stream socket (mode 0660, or 0666 when instances run as users of
/// their own) where the instances this agent runs register, report their GPU work, ask for state
/// commits and subscribe to their set's status messages (local_socket.proto). Each connection
/// is served on its own; a connection that fails or misbehaves is closed without touching the others
/// or the listener. At most <see cref="LocalSocketOptions.MaxConnections"/> are open at once.
/// </summary>
/// <remarks>
/// The socket is bound in <see cref="StartAsync"/>, so a path that cannot be used (another live agent
/// listens there, a directory, no permission) fails the agent's start-up with the reason. A socket
/// file left by an agent that crashed is removed first. On stop the listener and every connection
/// are closed and the socket file is deleted.
/// </remarks>
internal sealed partial class LocalSocketServer : BackgroundService
{
    /// <summary>Pending connections the kernel queues before they are accepted.</summary>
    private const int Backlog = 512;

    /// <summary>Mode of the socket file: the agent's user and group may connect, no one else.</summary>
    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>
    /// Mode of the socket file when instances run as users of their own (<see cref="LocalSocketOptions.OpenToEveryone"/>):
    /// anyone may connect, and only a Register with an instance's id and its token gets further.
    /// </summary>
    private const UnixFileMode OpenSocketMode = SocketMode | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromSeconds(1);

    private readonly LocalSocketOptions _options;
    private readonly string _nodeId;
    private readonly IInstanceAuthenticator _authenticator;
    private readonly IGpuWorkSink _gpuWork;
    private readonly ICommitRequester? _commits;
    private readonly TimeProvider _time;
    private readonly ILogger<LocalSocketServer> _logger;
    private readonly IEventSubscriptions? _events;
    private readonly Func<string, string?>? _channelOf;
    private readonly Func<string, IReadOnlyCollection<string>?>? _gpusOf;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly Lock _registrationsLock = new();

    // Instance id → its registered connections. Forget is called when the last one closes, so an
    // instance that reconnects before its old connection is noticed closed keeps its reports.
    private readonly Dictionary<string, int> _registrations = new(StringComparer.Ordinal);
    private Socket? _listener;
    private int _open;
    private long _lastConnectionId;

    /// <param name="options">Where to listen and the limits; validated at start.</param>
    /// <param name="nodeId">This node's id, sent to instances in Registered.</param>
    /// <param name="authenticator">Checks the instances' (id, token) pairs.</param>
    /// <param name="gpuWork">Receives the GPU work counters instances report.</param>
    /// <param name="commits">Carries out CommitNow; null answers every CommitNow not ok.</param>
    /// <param name="time">The clock of the register timeout.</param>
    /// <param name="logger">The log.</param>
    /// <param name="events">Serves Subscribe; null answers every Subscribe Error <c>invalid</c>.</param>
    /// <param name="channelOf">The channel an instance may subscribe to (its set's), by instance id; null when unknown.</param>
    /// <param name="gpusOf">The GPUs an instance may report work for, by instance id; null (or a null answer) checks nothing.</param>
    public LocalSocketServer(
        LocalSocketOptions options,
        string nodeId,
        IInstanceAuthenticator authenticator,
        IGpuWorkSink gpuWork,
        ICommitRequester? commits,
        TimeProvider time,
        ILogger<LocalSocketServer> logger,
        IEventSubscriptions? events = null,
        Func<string, string?>? channelOf = null,
        Func<string, IReadOnlyCollection<string>?>? gpusOf = null)
    {
        _options = options;
        _gpusOf = gpusOf;
        _nodeId = nodeId;
        _authenticator = authenticator;
        _gpuWork = gpuWork;
        _commits = commits;
        _time = time;
        _logger = logger;
        _events = events;
        _channelOf = channelOf;
    }

    /// <summary>Connections open now, registered or not.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _options.Validate();
        _listener = await BindAsync(_options.Path, cancellationToken);
        Log.Listening(_logger, _options.Path, _options.OpenToEveryone ? "0666" : "0660", _options.MaxConnections);
        await base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener ?? throw new InvalidOperationException("StartAsync binds the socket before ExecuteAsync runs.");
        using var connectionsScope = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            await AcceptLoopAsync(listener, connectionsScope.Token, stoppingToken);
        }
        finally
        {
            listener.Dispose();
            await connectionsScope.CancelAsync();

            // Connections end on the cancellation (their task never faults); the host bounds the wait.
            await Task.WhenAll(_connections.Values);
            DeleteSocketFile(_options.Path);
        }
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken connectionsToken, CancellationToken stoppingToken)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors or memory, or a connection aborted while queued: try again shortly.
                Log.AcceptFailed(_logger, _options.Path, ex.SocketErrorCode.ToString(), ex.Message);
                try
                {
                    await Task.Delay(s_acceptRetryDelay, _time, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Admit(socket, connectionsToken);
        }
    }

    private void Admit(Socket socket, CancellationToken cancellationToken)
    {
        var open = Interlocked.Increment(ref _open);
        if (open > _options.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            Log.ConnectionRefusedBusy(_logger, _options.MaxConnections);
            RefuseBusy(socket, _options.MaxConnections);
            return;
        }

        var id = Interlocked.Increment(ref _lastConnectionId);
        var served = Task.Run(() => ServeAsync(id, socket, open, cancellationToken), CancellationToken.None);
        _connections[id] = served;

        // Registered after the add, so a connection that ends at once is still removed.
        served.ContinueWith(_ => _connections.TryRemove(id, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static void RefuseBusy(Socket socket, int maxConnections)
    {
        using (socket)
        {
            var refusal = new AgentFrame
            {
                Error = new V1.Error
                {
                    Code = ErrorCodes.Unavailable,
                    Message = $"the agent has {maxConnections} local socket connections open, the most it serves; try again later",
                },
            };
            try
            {
                // A fresh socket's send buffer is empty: this small write does not block.
                socket.Send(FrameWriter.ToArray(refusal));
            }
            catch (SocketException)
            {
                // The peer is already gone.
            }
        }
    }

    private async Task ServeAsync(long id, Socket socket, int open, CancellationToken cancellationToken)
    {
        LocalSocketConnection? connection = null;
        var reason = "the instance closed it";
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var input = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
            var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
            try
            {
                connection = new LocalSocketConnection(
                    id, input, output, _options, _nodeId, _authenticator, _gpuWork, _commits, OnRegistered, _time, _logger, _events, _channelOf, _gpusOf);
                Log.ConnectionAccepted(_logger, id, open);
                await connection.RunAsync(cancellationToken);
            }
            finally
            {
                connection?.Dispose();
                await input.CompleteAsync();
                await output.CompleteAsync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            reason = "the agent is stopping";
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            reason = ex.Message;
        }
        catch (Exception ex)
        {
            // A defect: contained to this connection, as every other failure is.
            reason = "it failed unexpectedly";
            Log.ConnectionCrashed(_logger, id, connection?.InstanceId ?? "", ex);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
            if (connection?.InstanceId is { } instanceId)
            {
                OnClosed(instanceId);
            }

            Log.ConnectionEnded(_logger, id, connection?.InstanceId ?? "", reason);
        }
    }

    private void OnRegistered(string instanceId)
    {
        lock (_registrationsLock)
        {
            _registrations[instanceId] = _registrations.GetValueOrDefault(instanceId) + 1;
        }
    }

    private void OnClosed(string instanceId)
    {
        lock (_registrationsLock)
        {
            var left = _registrations.GetValueOrDefault(instanceId) - 1;
            if (left > 0)
            {
                _registrations[instanceId] = left;
                return;
            }

            _registrations.Remove(instanceId);

            // Under the lock, so a registration of the same instance racing with it is not forgotten.
            _gpuWork.Forget(instanceId);
        }

        Log.InstanceLeft(_logger, instanceId);
    }

    private async Task<Socket> BindAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"The local socket's directory for '{path}' cannot be created: {ex.Message}", ex);
        }

        if (Directory.Exists(path))
        {
            throw new IOException($"The local socket path '{path}' is a directory; expected the path of a socket to create.");
        }

        if (File.Exists(path))
        {
            await RemoveStaleSocketAsync(path, cancellationToken);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, _options.OpenToEveryone ? OpenSocketMode : SocketMode);
            listener.Listen(Backlog);
            return listener;
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new IOException($"The local socket '{path}' cannot be bound: {ex.Message}.", ex);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Removes the socket file a crashed agent left, after making sure no one listens on it: a
    /// connection that succeeds means another agent is alive there, and it is not ours to take.
    /// </summary>
    private async Task RemoveStaleSocketAsync(string path, CancellationToken cancellationToken)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var deadline = new CancellationTokenSource(s_probeTimeout, _time);
        using var scope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), scope.Token);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nothing listens. Linux refuses a connection to a regular file the same way, so a file
            // with content is left alone: a socket file is always empty.
            if (new FileInfo(path).Length != 0)
            {
                throw new IOException($"The local socket path '{path}' is a file that is not a socket; remove it, or set localSocketPath to another path.", ex);
            }

            File.Delete(path);
            Log.StaleSocketRemoved(_logger, path);
            return;
        }
        catch (SocketException ex)
        {
            throw new IOException($"Cannot tell whether another agent listens on the local socket '{path}' ({ex.SocketErrorCode}: {ex.Message}); stop it or remove the file, or set localSocketPath to another path.", ex);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"Something listens on the local socket '{path}' but does not accept connections (another drover-agent?); stop it, or set localSocketPath to another path.", ex);
        }

        throw new IOException($"Another drover-agent is already listening on the local socket '{path}'; stop it, or set localSocketPath to another path.");
    }

    private void DeleteSocketFile(string path)
    {
        try
        {
            File.Delete(path);
            Log.Stopped(_logger, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.SocketFileNotRemoved(_logger, path, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2501, EventName = "LocalSocketListening", Level = LogLevel.Information,
            Message = "Local socket listening on '{Path}' (mode {Mode}, at most {MaxConnections} connections).")]
        public static partial void Listening(ILogger logger, string path, string mode, int maxConnections);

        [LoggerMessage(EventId = 2502, EventName = "LocalSocketStaleRemoved", Level = LogLevel.Warning,
            Message = "Removed the stale local socket '{Path}': no agent listened on it.")]
        public static partial void StaleSocketRemoved(ILogger logger, string path);

        [LoggerMessage(EventId = 2503, EventName = "LocalSocketBusy", Level = LogLevel.Warning,
            Message = "Refused a local socket connection: {MaxConnections} connections are open, the most allowed.")]
        public static partial void ConnectionRefusedBusy(ILogger logger, int maxConnections);

        [LoggerMessage(EventId = 2504, EventName = "LocalSocketAcceptFailed", Level = LogLevel.Warning,
            Message = "Accepting a connection on the local socket '{Path}' failed ({Error}): {Reason}")]
        public static partial void AcceptFailed(ILogger logger, string path, string error, string reason);

        [LoggerMessage(EventId = 2505, EventName = "LocalSocketConnectionAccepted", Level = LogLevel.Debug,
            Message = "Accepted local socket connection {ConnectionId} ({Open} open).")]
        public static partial void ConnectionAccepted(ILogger logger, long connectionId, int open);

        [LoggerMessage(EventId = 2506, EventName = "LocalSocketConnectionEnded", Level = LogLevel.Debug,
            Message = "Local socket connection {ConnectionId} (instance '{InstanceId}') closed: {Reason}.")]
        public static partial void ConnectionEnded(ILogger logger, long connectionId, string instanceId, string reason);

        [LoggerMessage(EventId = 2507, EventName = "LocalSocketConnectionCrashed", Level = LogLevel.Error,
            Message = "Local socket connection {ConnectionId} (instance '{InstanceId}') failed unexpectedly and was closed; other connections are unaffected.")]
        public static partial void ConnectionCrashed(ILogger logger, long connectionId, string instanceId, Exception exception);

        [LoggerMessage(EventId = 2508, EventName = "LocalSocketStopped", Level = LogLevel.Information,
            Message = "Local socket '{Path}' closed and removed.")]
        public static partial void Stopped(ILogger logger, string path);

        [LoggerMessage(EventId = 2509, EventName = "LocalSocketFileNotRemoved", Level = LogLevel.Warning,
            Message = "The local socket file '{Path}' could not be removed: {Reason}")]
        public static partial void SocketFileNotRemoved(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 2510, EventName = "LocalSocketInstanceLeft", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' has no local socket connection left; its GPU work reports are forgotten.")]
        public static partial void InstanceLeft(ILogger logger, string instanceId);
    }
}
