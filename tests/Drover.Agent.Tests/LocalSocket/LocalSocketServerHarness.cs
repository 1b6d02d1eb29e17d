using Drover.Agent.Events;
using Drover.Agent.LocalSocket;
using Drover.Agent.LocalSocket.V1;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Drover.Agent.Tests.LocalSocket;

/// <summary>
/// A real <see cref="LocalSocketServer"/> on a socket under /tmp (short: a Unix socket path is at
/// most 107 bytes), with in-memory tokens, GPU work and commits, and a fake clock for the register timeout.
/// </summary>
internal sealed class LocalSocketServerHarness : IAsyncDisposable
{
    public const string NodeId = "node-test";

    private bool _stopped;

    public LocalSocketServerHarness(
        ITestOutputHelper? output,
        Action<LocalSocketOptions>? configure = null,
        bool withCommits = true,
        IEventSubscriptions? events = null,
        Func<string, string?>? channelOf = null,
        Func<string, IReadOnlyCollection<string>?>? gpusOf = null)
    {
        Directory = $"/tmp/dls-{Guid.NewGuid().ToString("N")[..10]}";
        Options = new LocalSocketOptions { Path = System.IO.Path.Combine(Directory, "run", "agent.sock") };
        configure?.Invoke(Options);
        Logger = new CapturingLogger<LocalSocketServer>(output);
        Server = new LocalSocketServer(Options, NodeId, Tokens, Sink, withCommits ? Commits : null, Time, Logger, events, channelOf, gpusOf);
    }

    public string Directory { get; }

    public string Path => Options.Path;

    public LocalSocketOptions Options { get; }

    public InstanceTokens Tokens { get; } = new();

    public RecordingGpuWorkSink Sink { get; } = new();

    public FakeCommitRequester Commits { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    public CapturingLogger<LocalSocketServer> Logger { get; }

    public LocalSocketServer Server { get; }

    public async Task<LocalSocketServerHarness> StartAsync()
    {
        await Server.StartAsync(CancellationToken.None).WaitAsync(LocalSocketTestClient.Timeout);
        return this;
    }

    public async Task StopAsync()
    {
        _stopped = true;
        await Server.StopAsync(CancellationToken.None).WaitAsync(LocalSocketTestClient.Timeout);
    }

    public Task<LocalSocketTestClient> ConnectAsync() => LocalSocketTestClient.ConnectAsync(Path);

    /// <summary>Connects and registers as <paramref name="instanceId"/> (issuing its token unless one exists).</summary>
    public async Task<LocalSocketTestClient> RegisterAsync(string instanceId, string? token = null)
    {
        token ??= Tokens.Issue(instanceId);
        var client = await ConnectAsync();
        await client.SendAsync(new InstanceFrame { RequestId = 1, Register = new Register { InstanceId = instanceId, Token = token } });
        var reply = await client.ReceiveAsync();
        Assert.True(reply.KindCase == AgentFrame.KindOneofCase.Registered, $"expected Registered, got {reply}");
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync();
        }

        Server.Dispose();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
