using System.Diagnostics;
using System.Net.Sockets;
using Drover.Agent.LocalSocket.V1;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Drover.Agent.Tests.LocalSocket;

public sealed class LocalSocketFuzzTests
{
    private const int Seed = 7_310_553;
    private const int Connections = 1000;
    private const int Parallelism = 24;

    private readonly ITestOutputHelper _output;

    public LocalSocketFuzzTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Server_ThousandsOfRandomTruncatedAndOversizedFrames_KeepsServingAndOtherConnectionsUnaffected()
    {
        _output.WriteLine($"seed {Seed}");
        await using var harness = await new LocalSocketServerHarness(output: null).StartAsync();
        await using var keeper = await harness.RegisterAsync("keeper");
        await keeper.SendAsync(Report(2, "GPU-keeper", 9, 2));
        Assert.Equal(AgentFrame.KindOneofCase.Ack, (await keeper.ReceiveAsync()).KindCase);

        // Scripts come from the seed before anything runs, so scheduling does not change them.
        var random = new Random(Seed);
        var scripts = Enumerable.Range(0, Connections).Select(i => FuzzScript.Create(i, new Random(random.Next()), harness.Tokens)).ToList();
        var clock = Stopwatch.StartNew();

        await Parallel.ForEachAsync(
            scripts,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism },
            async (script, _) => await RunAsync(harness, script, new Random(script.Name.Length + script.Bytes.Length)))
            .WaitAsync(TimeSpan.FromSeconds(60));

        // Every fuzzing connection ended on the server too (ConnectionEnded), and what they reported was forgotten.
        await harness.Logger.WaitForEventCountAsync(2506, Connections);
        _output.WriteLine($"{scripts.Sum(s => s.FrameCount)} frames, {scripts.Sum(s => s.Bytes.Length)} bytes over {Connections} connections in {clock.ElapsedMilliseconds} ms");
        Assert.True(scripts.Sum(s => s.FrameCount) >= 2000);
        Assert.All(Enumerable.Range(0, 8), gpu => Assert.False(harness.Sink.Work.TryGetQueueLength(FuzzScript.GpuPrefix + gpu, out _)));
        Assert.DoesNotContain(harness.Logger.Entries, e => e.Level >= LogLevel.Error);

        // The connection opened before the fuzzing is untouched.
        await keeper.SendAsync(Report(3, "GPU-keeper", 10, 2));
        Assert.Equal(AgentFrame.KindOneofCase.Ack, (await keeper.ReceiveAsync()).KindCase);
        Assert.True(harness.Sink.Work.TryGetQueueLength("GPU-keeper", out var kept));
        Assert.Equal(8, kept);

        // A new connection registers and works.
        await using var fresh = await harness.RegisterAsync("fresh");
        await fresh.SendAsync(Report(2, "GPU-fresh", 1, 0));
        Assert.Equal(AgentFrame.KindOneofCase.Ack, (await fresh.ReceiveAsync()).KindCase);
        await fresh.SendAsync(new InstanceFrame { RequestId = 3, CommitNow = new CommitNow() });
        Assert.True((await fresh.ReceiveAsync()).CommitResult.Ok);
        Assert.Equal(2, harness.Server.OpenConnections);
    }

    private static InstanceFrame Report(ulong requestId, string uuid, ulong submitted, ulong completed)
    {
        var report = new ReportGpuWork();
        report.Gpus.Add(new GpuWork { GpuUuid = uuid, Submitted = submitted, Completed = completed });
        return new InstanceFrame { RequestId = requestId, ReportGpuWork = report };
    }

    private static async Task RunAsync(LocalSocketServerHarness harness, FuzzScript script, Random random)
    {
        await using var client = await harness.ConnectAsync();
        var replies = ReceiveAllAsync(client);
        try
        {
            switch (script.Mode)
            {
                case FuzzScript.SendMode.Whole:
                    await client.SendRawAsync(script.Bytes);
                    break;
                case FuzzScript.SendMode.ByteByByte:
                    await client.SendByteByByteAsync(script.Bytes);
                    break;
                default:
                    await client.SendInChunksAsync(script.Bytes, random, 64);
                    break;
            }

            client.ShutdownSend();
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            // The agent closed the connection on a bad frame before the rest was sent.
        }

        var received = await replies;
        if (script.Expected is { } expected)
        {
            Assert.True(expected.SequenceEqual(received), $"{script.Name} ({script.Mode}): got {string.Join(", ", received)}");
            return;
        }

        // Chaos: no token, so at most one reply, an Error that closed the connection.
        var reply = Assert.Single(received);
        Assert.True(
            reply is "Error:malformed" or "Error:oversized" or "Error:out_of_order" or "Error:unauthenticated",
            $"{script.Name} ({script.Mode}): got {reply}");
    }

    private static async Task<List<string>> ReceiveAllAsync(LocalSocketTestClient client)
    {
        var received = new List<string>();
        while (true)
        {
            AgentFrame frame;
            try
            {
                var next = await client.TryReceiveAsync();
                if (next is null)
                {
                    return received;
                }

                frame = next;
            }
            catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                return received;
            }

            received.Add(frame.KindCase == AgentFrame.KindOneofCase.Error ? "Error:" + frame.Error.Code : frame.KindCase.ToString());
        }
    }
}
