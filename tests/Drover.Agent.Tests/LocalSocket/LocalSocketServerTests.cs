using System.Net.Sockets;
using System.Runtime.Versioning;
using Drover.Agent.LocalSocket;
using Drover.Agent.LocalSocket.V1;
using Xunit.Abstractions;

namespace Drover.Agent.Tests.LocalSocket;

public sealed class LocalSocketServerTests : IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private readonly List<LocalSocketServerHarness> _harnesses = [];

    public LocalSocketServerTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var harness in _harnesses)
        {
            await harness.DisposeAsync();
        }
    }

    private Task<LocalSocketServerHarness> StartAsync(Action<LocalSocketOptions>? configure = null, bool withCommits = true)
    {
        var harness = new LocalSocketServerHarness(_output, configure, withCommits);
        _harnesses.Add(harness);
        return harness.StartAsync();
    }

    private static InstanceFrame Report(ulong requestId, params (string Uuid, ulong Submitted, ulong Completed)[] gpus)
    {
        var report = new ReportGpuWork();
        report.Gpus.Add(gpus.Select(g => new GpuWork { GpuUuid = g.Uuid, Submitted = g.Submitted, Completed = g.Completed }));
        return new InstanceFrame { RequestId = requestId, ReportGpuWork = report };
    }

    private static InstanceFrame Commit(ulong requestId) => new() { RequestId = requestId, CommitNow = new CommitNow() };

    [Fact]
    public async Task Register_ValidToken_RegisteredThenReportAckedAndCommitAnswered()
    {
        var harness = await StartAsync();
        var token = harness.Tokens.Issue("fn-a-0");
        await using var client = await harness.ConnectAsync();

        await client.SendAsync(new InstanceFrame { RequestId = 10, Register = new Register { InstanceId = "fn-a-0", Token = token } });
        var registered = await client.ReceiveAsync();
        await client.SendAsync(Report(11, ("GPU-aaaa", 10, 3)));
        var ack = await client.ReceiveAsync();
        await client.SendAsync(Commit(12));
        var committed = await client.ReceiveAsync();

        Assert.Equal(10UL, registered.RequestId);
        Assert.Equal(LocalSocketServerHarness.NodeId, registered.Registered.NodeId);
        Assert.Equal(11UL, ack.RequestId);
        Assert.Equal(AgentFrame.KindOneofCase.Ack, ack.KindCase);
        Assert.True(harness.Sink.Work.TryGetQueueLength("GPU-aaaa", out var length));
        Assert.Equal(7, length);
        Assert.Equal(12UL, committed.RequestId);
        Assert.Equal(new CommitResult { Ok = true, Version = 42 }, committed.CommitResult);
        Assert.Equal(["fn-a-0"], harness.Commits.Requests);
    }

    [Theory]
    [InlineData("wrong token")]
    [InlineData("unknown instance")]
    [InlineData("revoked")]
    [InlineData("empty id")]
    [InlineData("long token")]
    public async Task Register_BadCredentials_UnauthenticatedAndClosed(string @case)
    {
        var harness = await StartAsync();
        var token = harness.Tokens.Issue("fn-a-0");
        var register = @case switch
        {
            "wrong token" => new Register { InstanceId = "fn-a-0", Token = harness.Tokens.Issue("other") },
            "unknown instance" => new Register { InstanceId = "fn-b-0", Token = token },
            "revoked" => new Register { InstanceId = "fn-a-0", Token = token },
            "empty id" => new Register { InstanceId = "", Token = token },
            _ => new Register { InstanceId = "fn-a-0", Token = new string('a', 10_000) },
        };
        if (@case == "revoked")
        {
            harness.Tokens.Revoke("fn-a-0");
        }

        await using var client = await harness.ConnectAsync();

        await client.SendAsync(new InstanceFrame { RequestId = 5, Register = register });

        var error = await client.ReceiveErrorAsync(ErrorCodes.Unauthenticated);
        Assert.Equal(5UL, error.RequestId);
        Assert.DoesNotContain(token, error.Error.Message, StringComparison.Ordinal);
        await client.AssertClosedAsync();
    }

    [Theory]
    [InlineData("report")]
    [InlineData("commit")]
    [InlineData("empty")]
    public async Task FirstFrame_NotRegister_OutOfOrderAndClosed(string kind)
    {
        var harness = await StartAsync();
        await using var client = await harness.ConnectAsync();
        var frame = kind switch
        {
            "report" => Report(3, ("GPU-1", 1, 0)),
            "commit" => Commit(3),
            _ => new InstanceFrame { RequestId = 3 },
        };

        await client.SendAsync(frame);

        Assert.Equal(3UL, (await client.ReceiveErrorAsync(ErrorCodes.OutOfOrder)).RequestId);
        await client.AssertClosedAsync();
        Assert.Empty(harness.Commits.Requests);
        Assert.False(harness.Sink.Work.TryGetQueueLength("GPU-1", out _));
    }

    [Fact]
    public async Task Register_Twice_OutOfOrderAndClosed()
    {
        var harness = await StartAsync();
        var token = harness.Tokens.Issue("fn-a-0");
        await using var client = await harness.RegisterAsync("fn-a-0", token);

        await client.SendAsync(new InstanceFrame { RequestId = 2, Register = new Register { InstanceId = "fn-a-0", Token = token } });

        Assert.Equal(2UL, (await client.ReceiveErrorAsync(ErrorCodes.OutOfOrder)).RequestId);
        await client.AssertClosedAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Frame_NotProtobuf_MalformedAndClosed(bool registered)
    {
        var harness = await StartAsync();
        await using var client = registered ? await harness.RegisterAsync("fn-a-0") : await harness.ConnectAsync();

        await client.SendRawAsync(new byte[] { 0, 0, 0, 2, 0x00, 0x01 });

        Assert.Equal(0UL, (await client.ReceiveErrorAsync(ErrorCodes.Malformed)).RequestId);
        await client.AssertClosedAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Frame_LengthOverMaximum_OversizedAndClosedWithoutBody(bool registered)
    {
        var harness = await StartAsync();
        await using var client = registered ? await harness.RegisterAsync("fn-a-0") : await harness.ConnectAsync();

        // The header promises 1 MiB; only the header is sent.
        await client.SendRawAsync(new byte[] { 0, 0x10, 0, 0 });

        var error = await client.ReceiveErrorAsync(ErrorCodes.Oversized);
        Assert.Contains("1048576", error.Error.Message, StringComparison.Ordinal);
        await client.AssertClosedAsync();
    }

    [Fact]
    public async Task Frame_EndsInsideBody_MalformedAndClosed()
    {
        var harness = await StartAsync();
        await using var client = await harness.RegisterAsync("fn-a-0");
        var frame = FrameWriter.ToArray(Commit(9));

        await client.SendRawAsync(frame.AsMemory(0, frame.Length - 1));
        client.ShutdownSend();

        await client.ReceiveErrorAsync(ErrorCodes.Malformed);
        await client.AssertClosedAsync();
    }

    public static TheoryData<string, InstanceFrame> InvalidReports()
    {
        var tooMany = new ReportGpuWork();
        tooMany.Gpus.Add(Enumerable.Range(0, 65).Select(i => new GpuWork { GpuUuid = $"GPU-{i}" }));
        return new TheoryData<string, InstanceFrame>
        {
            { "gpus has 65 entries", new InstanceFrame { RequestId = 4, ReportGpuWork = tooMany } },
            { "gpus[0].gpu_uuid = ''", Report(4, ("", 1, 0)) },
            { "gpus[1].gpu_uuid = '" + new string('u', 97) + "'", Report(4, ("GPU-ok", 1, 0), (new string('u', 97), 1, 0)) },
            { "gpus[0].gpu_uuid = 'GPU 1'", Report(4, ("GPU 1", 1, 0)) },
            { "gpus[0].gpu_uuid = 'GPU-\n'", Report(4, ("GPU-\n", 1, 0)) },
            { "gpus[1].gpu_uuid = 'GPU-ok' is named twice", Report(4, ("GPU-ok", 1, 0), ("GPU-ok", 2, 0)) },
            { "no kind", new InstanceFrame { RequestId = 4 } },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidReports))]
    public async Task Frame_BreaksARule_InvalidNothingRecordedAndConnectionKept(string expected, InstanceFrame frame)
    {
        var harness = await StartAsync();
        await using var client = await harness.RegisterAsync("fn-a-0");

        await client.SendAsync(frame);
        var error = await client.ReceiveErrorAsync(ErrorCodes.Invalid);
        await client.SendAsync(Report(5, ("GPU-other", 2, 1)));
        var ack = await client.ReceiveAsync();

        Assert.Equal(4UL, error.RequestId);
        Assert.Contains(expected, error.Error.Message, StringComparison.Ordinal);
        Assert.False(harness.Sink.Work.TryGetQueueLength("GPU-ok", out _));
        Assert.Equal(AgentFrame.KindOneofCase.Ack, ack.KindCase);
        Assert.True(harness.Sink.Work.TryGetQueueLength("GPU-other", out _));
    }

    /// <summary>Rows: the GPUs the instance was given; the GPU it reports; whether it is counted.</summary>
    [Theory]
    [Trait("Category", "Attacks")]
    [InlineData("GPU-mine", "GPU-mine", true)]
    [InlineData("GPU-mine", "GPU-other", false)]
    [InlineData("", "GPU-any", false)]
    public async Task ReportGpuWork_OnlyForTheGpusTheInstanceWasGiven(string given, string reported, bool counted)
    {
        var harness = new LocalSocketServerHarness(_output, gpusOf: _ => given.Length == 0 ? [] : [given]);
        _harnesses.Add(harness);
        await harness.StartAsync();
        await using var client = await harness.RegisterAsync("fn-a-0");

        await client.SendAsync(Report(4, (reported, 5, 1)));
        var answer = await client.ReceiveAsync();

        Assert.Equal(counted, harness.Sink.Work.TryGetQueueLength(reported, out _));
        if (counted)
        {
            Assert.Equal(AgentFrame.KindOneofCase.Ack, answer.KindCase);
        }
        else
        {
            Assert.Equal(ErrorCodes.Invalid, answer.Error.Code);
            Assert.Contains($"gpu_uuid = '{reported}' is not a GPU of this instance", answer.Error.Message, StringComparison.Ordinal);
            Assert.Contains(harness.Logger.Entries, e => e.Message.Contains("is not a GPU of this instance", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Frames_SentTogetherBeforeReading_AnsweredInOrder()
    {
        var harness = await StartAsync();
        var token = harness.Tokens.Issue("fn-a-0");
        await using var client = await harness.ConnectAsync();
        var frames = new List<InstanceFrame> { new() { RequestId = 100, Register = new Register { InstanceId = "fn-a-0", Token = token } } };
        for (ulong i = 1; i <= 50; i++)
        {
            frames.Add(i % 10 == 0 ? Commit(100 + i) : Report(100 + i, ("GPU-0", i, 0)));
        }

        await client.SendRawAsync(frames.SelectMany(f => FrameWriter.ToArray(f)).ToArray());
        var replies = new List<AgentFrame>();
        foreach (var _ in frames)
        {
            replies.Add(await client.ReceiveAsync());
        }

        Assert.Equal(frames.Select(f => f.RequestId), replies.Select(r => r.RequestId));
        Assert.Equal(AgentFrame.KindOneofCase.Registered, replies[0].KindCase);
        Assert.All(replies.Skip(1), r => Assert.Contains(r.KindCase, new[] { AgentFrame.KindOneofCase.Ack, AgentFrame.KindOneofCase.CommitResult }));
        Assert.Equal(5, replies.Count(r => r.KindCase == AgentFrame.KindOneofCase.CommitResult));
        harness.Sink.Work.TryGetQueueLength("GPU-0", out var length);
        Assert.Equal(49, length);
    }

    [Fact]
    public async Task Connection_Idle_KeptOpen()
    {
        var harness = await StartAsync(o => o.RegisterTimeout = TimeSpan.FromSeconds(1));
        await using var client = await harness.RegisterAsync("fn-a-0");

        // Well past the register timeout: a registered connection has no idle limit.
        harness.Time.Advance(TimeSpan.FromHours(1));
        await client.SendAsync(Report(2, ("GPU-0", 1, 0)));

        Assert.Equal(AgentFrame.KindOneofCase.Ack, (await client.ReceiveAsync()).KindCase);
    }

    [Fact]
    public async Task Connection_NoRegisterWithinTimeout_UnauthenticatedAndClosed()
    {
        var harness = await StartAsync(o => o.RegisterTimeout = TimeSpan.FromSeconds(10));
        await using var client = await harness.ConnectAsync();
        await harness.Logger.WaitForEventAsync(2505);

        harness.Time.Advance(TimeSpan.FromSeconds(10));

        var error = await client.ReceiveErrorAsync(ErrorCodes.Unauthenticated);
        Assert.Contains("within 10 s", error.Error.Message, StringComparison.Ordinal);
        await client.AssertClosedAsync();
    }

    [Fact]
    public async Task Connection_Closed_InstanceReportsForgotten()
    {
        var harness = await StartAsync();
        var client = await harness.RegisterAsync("fn-a-0");
        await client.SendAsync(Report(2, ("GPU-0", 5, 0)));
        await client.ReceiveAsync();
        Assert.True(harness.Sink.Work.TryGetQueueLength("GPU-0", out _));

        await client.DisposeAsync();
        await harness.Sink.WaitForgottenAsync("fn-a-0");

        Assert.False(harness.Sink.Work.TryGetQueueLength("GPU-0", out _));
    }

    [Fact]
    public async Task Connection_OneOfTwoOfSameInstanceClosed_ReportsKeptUntilLastCloses()
    {
        var harness = await StartAsync();
        var token = harness.Tokens.Issue("fn-a-0");
        var first = await harness.RegisterAsync("fn-a-0", token);
        await using var second = await harness.RegisterAsync("fn-a-0", token);
        var other = await harness.RegisterAsync("fn-b-0");
        await second.SendAsync(Report(2, ("GPU-0", 5, 0)));
        await second.ReceiveAsync();

        // Three connections were opened; when two have ended, only the second is left.
        await first.DisposeAsync();
        await other.DisposeAsync();
        await harness.Logger.WaitForEventCountAsync(2506, 2);

        Assert.DoesNotContain("fn-a-0", harness.Sink.Forgotten);
        Assert.True(harness.Sink.Work.TryGetQueueLength("GPU-0", out var length));
        Assert.Equal(5, length);
    }

    [Fact]
    public async Task Connection_BeyondMaxConnections_UnavailableAndClosed()
    {
        var harness = await StartAsync(o => o.MaxConnections = 2);
        await using var a = await harness.RegisterAsync("fn-a-0");
        await using var b = await harness.ConnectAsync();

        // The server accepts in order: a and b are counted before c is accepted.
        await using var c = await harness.ConnectAsync();

        await c.ReceiveErrorAsync(ErrorCodes.Unavailable);
        await c.AssertClosedAsync();
        await a.SendAsync(Report(2, ("GPU-0", 1, 0)));
        Assert.Equal(AgentFrame.KindOneofCase.Ack, (await a.ReceiveAsync()).KindCase);
    }

    [Fact]
    public async Task CommitNow_RequesterThrows_NotOkAndConnectionKept()
    {
        var harness = await StartAsync();
        harness.Commits.Failure = new InvalidOperationException("disk full");
        await using var client = await harness.RegisterAsync("fn-a-0");

        await client.SendAsync(Commit(7));
        var result = await client.ReceiveAsync();
        await client.SendAsync(Report(8, ("GPU-0", 1, 0)));

        Assert.False(result.CommitResult.Ok);
        Assert.Equal(0UL, result.CommitResult.Version);
        Assert.Contains("disk full", result.CommitResult.Error, StringComparison.Ordinal);
        Assert.Equal(AgentFrame.KindOneofCase.Ack, (await client.ReceiveAsync()).KindCase);
    }

    [Fact]
    public async Task CommitNow_NoRequester_NotOk()
    {
        var harness = await StartAsync(withCommits: false);
        await using var client = await harness.RegisterAsync("fn-a-0");

        await client.SendAsync(Commit(7));
        var result = await client.ReceiveAsync();

        Assert.False(result.CommitResult.Ok);
        Assert.NotEmpty(result.CommitResult.Error);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task StartAndStop_SocketFile_Mode0660ThenRemovedAndConnectionsClosed()
    {
        var harness = await StartAsync();
        var mode = File.GetUnixFileMode(harness.Path);
        await using var client = await harness.RegisterAsync("fn-a-0");

        await harness.StopAsync();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, mode);
        Assert.False(File.Exists(harness.Path));
        await client.AssertClosedAsync();
        await Assert.ThrowsAsync<SocketException>(() => harness.ConnectAsync());
    }

    [Fact]
    public async Task Start_AnotherServerListening_ThrowsNamingPathAndLeavesItRunning()
    {
        var first = await StartAsync();
        var second = new LocalSocketServerHarness(_output, o => o.Path = first.Path);

        var ex = await Assert.ThrowsAsync<IOException>(second.StartAsync);

        Assert.Contains(first.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("already listening", ex.Message, StringComparison.Ordinal);
        second.Server.Dispose();
        await using var client = await first.RegisterAsync("fn-a-0");
    }

    [Fact]
    public async Task Start_StaleSocketFileLeftByCrash_RemovesItAndListens()
    {
        var harness = new LocalSocketServerHarness(_output);
        _harnesses.Add(harness);
        Directory.CreateDirectory(Path.GetDirectoryName(harness.Path)!);
        using (var crashed = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // Bound and listening, then closed without removing its file: what a killed agent leaves.
            // .NET unlinks the path it bound when the socket is disposed, so the file is moved aside meanwhile.
            crashed.Bind(new UnixDomainSocketEndPoint(harness.Path));
            crashed.Listen();
            File.Move(harness.Path, harness.Path + ".kept");
        }

        File.Move(harness.Path + ".kept", harness.Path);

        Assert.True(File.Exists(harness.Path));

        await harness.StartAsync();

        await harness.Logger.WaitForEventAsync(2502);
        await using var client = await harness.RegisterAsync("fn-a-0");
    }

    [Fact]
    public async Task Start_RegularFileAtPath_ThrowsAndKeepsFile()
    {
        var harness = new LocalSocketServerHarness(_output);
        _harnesses.Add(harness);
        Directory.CreateDirectory(Path.GetDirectoryName(harness.Path)!);
        await File.WriteAllTextAsync(harness.Path, "not a socket");

        var ex = await Assert.ThrowsAsync<IOException>(harness.StartAsync);

        Assert.Contains("not a socket", ex.Message, StringComparison.Ordinal);
        Assert.Equal("not a socket", await File.ReadAllTextAsync(harness.Path));
    }

    [Theory]
    [InlineData("relative/agent.sock")]
    [InlineData("")]
    public void Validate_BadPath_ThrowsNamingKey(string path)
    {
        var ex = Assert.Throws<ArgumentException>(() => new LocalSocketOptions { Path = path }.Validate());

        Assert.Contains("localSocketPath", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PathOver107Bytes_Throws()
    {
        Assert.Throws<ArgumentException>(() => new LocalSocketOptions { Path = "/" + new string('p', 107) }.Validate());
        new LocalSocketOptions { Path = "/" + new string('p', 106) }.Validate();
    }
}
