using System.Buffers.Binary;
using Drover.Agent.LocalSocket;
using Drover.Agent.LocalSocket.V1;

namespace Drover.Agent.Tests.LocalSocket;

/// <summary>
/// What one fuzzing connection sends, how, and what the agent must answer. Scripted connections
/// have an exact expected reply sequence; chaos connections send random bytes and must get at most
/// one reply, an Error that closes the connection.
/// </summary>
internal sealed class FuzzScript
{
    public const string GpuPrefix = "GPU-fz-";

    private FuzzScript(string name, byte[] bytes, List<string>? expected, SendMode mode, int frameCount)
    {
        Name = name;
        Bytes = bytes;
        Expected = expected;
        Mode = mode;
        FrameCount = frameCount;
    }

    public enum SendMode
    {
        Whole,
        ByteByByte,
        Chunks,
    }

    public string Name { get; }

    public byte[] Bytes { get; }

    /// <summary>The replies, as "Registered", "Ack", "CommitResult" or "Error:code"; null for chaos.</summary>
    public List<string>? Expected { get; }

    public SendMode Mode { get; }

    /// <summary>Frames (or frame attempts) in <see cref="Bytes"/>.</summary>
    public int FrameCount { get; }

    public static FuzzScript Create(int index, Random random, InstanceTokens tokens)
    {
        var mode = (SendMode)random.Next(3);
        return random.Next(5) == 0 ? Chaos(index, random, mode) : Scripted(index, random, tokens, mode);
    }

    private static FuzzScript Chaos(int index, Random random, SendMode mode)
    {
        var bytes = new byte[random.Next(1, 400)];
        random.NextBytes(bytes);
        if (bytes.Length >= 4 && random.Next(2) == 0)
        {
            // A plausible length, so the body reaches the protobuf parser.
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)random.Next(0, bytes.Length));
        }

        return new FuzzScript($"chaos #{index}", bytes, null, mode, 1);
    }

    private static FuzzScript Scripted(int index, Random random, InstanceTokens tokens, SendMode mode)
    {
        var instanceId = $"fz-{index}";
        var token = tokens.Issue(instanceId);
        var frames = new List<byte[]>();
        var expected = new List<string>();
        ulong requestId = 1;

        var start = random.Next(20);
        if (start == 0)
        {
            frames.Add(FrameWriter.ToArray(new InstanceFrame { RequestId = requestId, Register = new Register { InstanceId = instanceId, Token = tokens.Issue("nobody") } }));
            expected.Add("Error:" + ErrorCodes.Unauthenticated);
            return Build(index, frames, expected, mode);
        }

        if (start == 1)
        {
            frames.Add(FrameWriter.ToArray(ValidReport(requestId, random)));
            expected.Add("Error:" + ErrorCodes.OutOfOrder);
            return Build(index, frames, expected, mode);
        }

        frames.Add(FrameWriter.ToArray(new InstanceFrame { RequestId = requestId++, Register = new Register { InstanceId = instanceId, Token = token } }));
        expected.Add("Registered");
        var steps = random.Next(0, 16);
        for (var i = 0; i < steps; i++)
        {
            switch (random.Next(4))
            {
                case 0:
                case 1:
                    frames.Add(FrameWriter.ToArray(ValidReport(requestId++, random)));
                    expected.Add("Ack");
                    break;
                case 2:
                    frames.Add(FrameWriter.ToArray(new InstanceFrame { RequestId = requestId++, CommitNow = new CommitNow() }));
                    expected.Add("CommitResult");
                    break;
                default:
                    frames.Add(FrameWriter.ToArray(InvalidFrame(requestId++, random)));
                    expected.Add("Error:" + ErrorCodes.Invalid);
                    break;
            }
        }

        switch (random.Next(6))
        {
            case 0:
                frames.Add(FrameWriter.ToArray(new InstanceFrame { RequestId = requestId, Register = new Register { InstanceId = instanceId, Token = token } }));
                expected.Add("Error:" + ErrorCodes.OutOfOrder);
                break;
            case 1:
                // Tag 0 is never valid protobuf.
                var garbage = new byte[random.Next(1, 100)];
                random.NextBytes(garbage);
                garbage[0] = 0;
                frames.Add([.. Header(garbage.Length), .. garbage]);
                expected.Add("Error:" + ErrorCodes.Malformed);
                break;
            case 2:
                var body = new byte[random.Next(0, 64)];
                random.NextBytes(body);
                frames.Add([.. Header(random.Next(Frames.MaxSize + 1, int.MaxValue)), .. body]);
                expected.Add("Error:" + ErrorCodes.Oversized);
                break;
            case 3:
                // Cut short, then the client stops sending.
                var whole = FrameWriter.ToArray(ValidReport(requestId, random));
                frames.Add(whole[..random.Next(1, whole.Length)]);
                expected.Add("Error:" + ErrorCodes.Malformed);
                break;
            default:
                // A clean end: no reply, the agent closes.
                break;
        }

        return Build(index, frames, expected, mode);
    }

    private static FuzzScript Build(int index, List<byte[]> frames, List<string> expected, SendMode mode)
        => new($"scripted #{index} ({string.Join(", ", expected)})", [.. frames.SelectMany(f => f)], expected, mode, frames.Count);

    private static byte[] Header(int length)
    {
        var header = new byte[Frames.HeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)length);
        return header;
    }

    private static InstanceFrame ValidReport(ulong requestId, Random random)
    {
        var report = new ReportGpuWork();
        foreach (var gpu in Enumerable.Range(0, 8).OrderBy(_ => random.Next()).Take(random.Next(0, 6)))
        {
            var submitted = (ulong)random.NextInt64();
            report.Gpus.Add(new GpuWork { GpuUuid = GpuPrefix + gpu, Submitted = submitted, Completed = (ulong)random.NextInt64() });
        }

        return new InstanceFrame { RequestId = requestId, ReportGpuWork = report };
    }

    private static InstanceFrame InvalidFrame(ulong requestId, Random random)
    {
        var report = new ReportGpuWork();
        switch (random.Next(6))
        {
            case 0:
                report.Gpus.Add(new GpuWork { GpuUuid = "" });
                break;
            case 1:
                report.Gpus.Add(new GpuWork { GpuUuid = new string('u', 97 + random.Next(0, 500)) });
                break;
            case 2:
                report.Gpus.Add(Enumerable.Range(0, 65 + random.Next(0, 100)).Select(i => new GpuWork { GpuUuid = $"GPU-{i}" }));
                break;
            case 3:
                report.Gpus.Add(new GpuWork { GpuUuid = GpuPrefix + "0" });
                report.Gpus.Add(new GpuWork { GpuUuid = GpuPrefix + "0" });
                break;
            case 4:
                report.Gpus.Add(new GpuWork { GpuUuid = "GPU \u00e9" });
                break;
            default:
                return new InstanceFrame { RequestId = requestId };
        }

        return new InstanceFrame { RequestId = requestId, ReportGpuWork = report };
    }
}
