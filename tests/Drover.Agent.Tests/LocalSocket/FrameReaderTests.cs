using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Drover.Agent.LocalSocket;
using Drover.Agent.LocalSocket.V1;
using Xunit.Abstractions;

namespace Drover.Agent.Tests.LocalSocket;

public class FrameReaderTests
{
    private const int Seed = 20240611;

    private static readonly TimeSpan s_timeout = LocalSocketTestClient.Timeout;

    private readonly ITestOutputHelper _output;

    public FrameReaderTests(ITestOutputHelper output)
    {
        _output = output;
    }

    /// <summary>A varied set of frames: every kind, empty ones, and one near the maximum.</summary>
    private static List<InstanceFrame> SampleFrames()
    {
        var frames = new List<InstanceFrame>
        {
            new() { RequestId = 1, Register = new Register { InstanceId = "fn-a-0", Token = new string('a', 64) } },
            new(),
            new() { RequestId = 2, CommitNow = new CommitNow() },
            new() { RequestId = ulong.MaxValue },
        };
        for (var i = 0; i < 40; i++)
        {
            var report = new ReportGpuWork();
            for (var g = 0; g < i % 7; g++)
            {
                report.Gpus.Add(new GpuWork { GpuUuid = $"GPU-{i:D4}-{g}", Submitted = (ulong)(i * 1000 + g), Completed = (ulong)(i * 999) });
            }

            frames.Add(new InstanceFrame { RequestId = (ulong)(100 + i), ReportGpuWork = report });
        }

        // One frame just under the 64 KiB cap.
        var big = new ReportGpuWork();
        while (big.CalculateSize() < Frames.MaxSize - 200)
        {
            big.Gpus.Add(new GpuWork { GpuUuid = new string('x', 90), Submitted = 1, Completed = 1 });
        }

        frames.Add(new InstanceFrame { RequestId = 999, ReportGpuWork = big });
        return frames;
    }

    private static byte[] Encode(IEnumerable<InstanceFrame> frames)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var frame in frames)
        {
            FrameWriter.Write(output, frame);
        }

        return output.WrittenSpan.ToArray();
    }

    private static async Task<List<FrameReadResult<InstanceFrame>>> ReadAllAsync(PipeReader input)
    {
        var reader = new FrameReader<InstanceFrame>(input, InstanceFrame.Parser);
        var results = new List<FrameReadResult<InstanceFrame>>();
        while (true)
        {
            var result = await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(s_timeout);
            if (result.Status == FrameReadStatus.End)
            {
                return results;
            }

            results.Add(result);
            if (result.Status is FrameReadStatus.Truncated or FrameReadStatus.Oversized)
            {
                return results;
            }
        }
    }

    /// <summary>
    /// Delivers the bytes in the given chunk sizes: each read of the underlying stream returns one
    /// chunk, so the reader sees exactly these arrivals, in small pipe segments a header can span.
    /// </summary>
    private static Task<List<FrameReadResult<InstanceFrame>>> FeedAsync(byte[] bytes, Func<int> nextChunk)
        => ReadAllAsync(PipeReader.Create(new ChunkedReadStream(bytes, nextChunk), new StreamPipeReaderOptions(bufferSize: 1024, minimumReadSize: 256)));

    /// <summary>Writes the bytes into a Pipe in the given chunk sizes, flushing after each, while the reader reads.</summary>
    private static async Task<List<FrameReadResult<InstanceFrame>>> PipeAsync(byte[] bytes, Func<int> nextChunk)
    {
        var pipe = new Pipe();
        var reading = ReadAllAsync(pipe.Reader);
        var position = 0;
        while (position < bytes.Length)
        {
            var chunk = Math.Min(nextChunk(), bytes.Length - position);
            await pipe.Writer.WriteAsync(bytes.AsMemory(position, chunk));
            position += chunk;
        }

        await pipe.Writer.CompleteAsync();
        return await reading.WaitAsync(s_timeout);
    }

    [Fact]
    public async Task ReadAsync_WholeByteByByteAndRandomChunks_YieldSameMessages()
    {
        _output.WriteLine($"seed {Seed}");
        var random = new Random(Seed);
        var frames = SampleFrames();
        var bytes = Encode(frames);

        var runs = new Dictionary<string, List<FrameReadResult<InstanceFrame>>>
        {
            ["whole"] = await FeedAsync(bytes, () => bytes.Length),
            ["byte by byte"] = await FeedAsync(bytes, () => 1),
            ["chunks of 1-16"] = await FeedAsync(bytes, () => random.Next(1, 17)),
            ["chunks of 1-9000"] = await FeedAsync(bytes, () => random.Next(1, 9001)),
            ["pipe, byte by byte"] = await PipeAsync(bytes, () => 1),
            ["pipe, chunks of 1-700"] = await PipeAsync(bytes, () => random.Next(1, 701)),
        };

        foreach (var (name, results) in runs)
        {
            Assert.True(results.All(r => r.Status == FrameReadStatus.Message), name);
            Assert.True(frames.SequenceEqual(results.Select(r => r.Message!)), name);
        }
    }

    [Fact]
    public async Task ReadAsync_HeaderSplitAcrossSegments_ReadsFrame()
    {
        var frame = new InstanceFrame { RequestId = 7, CommitNow = new CommitNow() };
        var bytes = FrameWriter.ToArray(frame);

        // Header split 1+3, 2+2 and 3+1 over two segments, then the body in a third.
        for (var split = 1; split < Frames.HeaderSize; split++)
        {
            var sequence = Segments(bytes[..split], bytes[split..Frames.HeaderSize], bytes[Frames.HeaderSize..]);
            var results = await ReadAllAsync(PipeReader.Create(sequence));

            Assert.Equal(frame, Assert.Single(results).Message);
        }
    }

    [Fact]
    public async Task ReadAsync_HeaderArrivesInTwoWrites_WaitsThenReadsFrame()
    {
        var frame = new InstanceFrame { RequestId = 8, CommitNow = new CommitNow() };
        var bytes = FrameWriter.ToArray(frame);
        var pipe = new Pipe();
        var reader = new FrameReader<InstanceFrame>(pipe.Reader, InstanceFrame.Parser);

        await pipe.Writer.WriteAsync(bytes.AsMemory(0, 2));
        var pending = reader.ReadAsync(CancellationToken.None).AsTask();
        await pipe.Writer.WriteAsync(bytes.AsMemory(2));
        var result = await pending.WaitAsync(s_timeout);

        Assert.Equal(FrameReadStatus.Message, result.Status);
        Assert.Equal(frame, result.Message);
    }

    [Fact]
    public async Task ReadAsync_SeveralFramesInOneWrite_ReturnsEachWithoutMoreInput()
    {
        var frames = SampleFrames().Take(10).ToList();
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encode(frames));

        // The writer stays open: a reader that examined past the first frame would wait forever here.
        var reader = new FrameReader<InstanceFrame>(pipe.Reader, InstanceFrame.Parser);
        var read = new List<InstanceFrame>();
        foreach (var _ in frames)
        {
            read.Add((await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(s_timeout)).Message!);
        }

        Assert.Equal(frames, read);
    }

    [Theory]
    [InlineData(Frames.MaxSize + 1L)]
    [InlineData(10L * 1024 * 1024)]
    [InlineData(uint.MaxValue)]
    public async Task ReadAsync_LengthOverMaximum_OversizedWithoutWaitingForBody(long length)
    {
        var pipe = new Pipe();
        var header = new byte[Frames.HeaderSize + 3];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)length);

        // Only the header and a few body bytes arrive, and the writer stays open.
        await pipe.Writer.WriteAsync(header);
        var result = await new FrameReader<InstanceFrame>(pipe.Reader, InstanceFrame.Parser).ReadAsync(CancellationToken.None).AsTask().WaitAsync(s_timeout);

        Assert.Equal(FrameReadStatus.Oversized, result.Status);
        Assert.Equal(length, result.Length);
    }

    [Fact]
    public async Task ReadAsync_LengthAtMaximum_WaitsForAndReadsBody()
    {
        var body = new byte[Frames.MaxSize];

        // A valid protobuf of exactly the maximum: field 1 (request_id) repeated, last one wins.
        for (var i = 0; i + 1 < body.Length; i += 2)
        {
            body[i] = 0x08;
            body[i + 1] = 0x05;
        }

        var bytes = new byte[Frames.HeaderSize + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)body.Length);
        body.CopyTo(bytes, Frames.HeaderSize);

        var results = await FeedAsync(bytes, () => 4096);

        var result = Assert.Single(results);
        Assert.Equal(FrameReadStatus.Message, result.Status);
        Assert.Equal(5UL, result.Message!.RequestId);
    }

    [Fact]
    public async Task ReadAsync_ZeroLengthFrame_ReturnsEmptyMessage()
    {
        var results = await ReadAllAsync(PipeReader.Create(new ReadOnlySequence<byte>(new byte[4])));

        var result = Assert.Single(results);
        Assert.Equal(FrameReadStatus.Message, result.Status);
        Assert.Equal(new InstanceFrame(), result.Message);
        Assert.Equal(InstanceFrame.KindOneofCase.None, result.Message!.KindCase);
    }

    [Fact]
    public async Task ReadAsync_BodyNotProtobuf_MalformedThenNextFrameRead()
    {
        var next = new InstanceFrame { RequestId = 3, CommitNow = new CommitNow() };

        // Tag 0 is never valid protobuf.
        byte[] garbage = [0, 0, 0, 3, 0x00, 0xFF, 0xFF];
        var bytes = garbage.Concat(FrameWriter.ToArray(next)).ToArray();

        var results = await ReadAllAsync(PipeReader.Create(new ReadOnlySequence<byte>(bytes)));

        Assert.Equal(2, results.Count);
        Assert.Equal(FrameReadStatus.Malformed, results[0].Status);
        Assert.Equal(3, results[0].Length);
        Assert.Equal(next, results[1].Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(9)]
    public async Task ReadAsync_StreamEndsInsideFrame_Truncated(int keep)
    {
        var bytes = FrameWriter.ToArray(new InstanceFrame { RequestId = 1, Register = new Register { InstanceId = "x", Token = "y" } });
        var first = new InstanceFrame { RequestId = 9 };
        var input = FrameWriter.ToArray(first).Concat(bytes[..keep]).ToArray();

        var results = await ReadAllAsync(PipeReader.Create(new ReadOnlySequence<byte>(input)));

        Assert.Equal(2, results.Count);
        Assert.Equal(first, results[0].Message);
        Assert.Equal(FrameReadStatus.Truncated, results[1].Status);
        Assert.NotNull(results[1].Detail);
    }

    [Fact]
    public async Task ReadAsync_StreamEndsBetweenFrames_End()
    {
        var reader = new FrameReader<InstanceFrame>(PipeReader.Create(new ReadOnlySequence<byte>(FrameWriter.ToArray(new InstanceFrame()))), InstanceFrame.Parser);

        Assert.Equal(FrameReadStatus.Message, (await reader.ReadAsync(CancellationToken.None)).Status);
        Assert.Equal(FrameReadStatus.End, (await reader.ReadAsync(CancellationToken.None)).Status);
    }

    [Fact]
    public async Task ReadAsync_Cancelled_ThrowsAndKeepsPartialFrame()
    {
        var frame = new InstanceFrame { RequestId = 4, CommitNow = new CommitNow() };
        var bytes = FrameWriter.ToArray(frame);
        var pipe = new Pipe();
        var reader = new FrameReader<InstanceFrame>(pipe.Reader, InstanceFrame.Parser);
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, 3));

        using (var cancel = new CancellationTokenSource())
        {
            var pending = reader.ReadAsync(cancel.Token).AsTask();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(s_timeout));
        }

        await pipe.Writer.WriteAsync(bytes.AsMemory(3));
        var result = await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(s_timeout);
        Assert.Equal(frame, result.Message);
    }

    [Fact]
    public void Write_MessageOverMaximum_Throws()
    {
        var frame = new InstanceFrame { Register = new Register { InstanceId = new string('i', 2000) } };

        Assert.Throws<ArgumentException>(() => FrameWriter.ToArray(frame, maxSize: 1024));
    }

    [Fact]
    public void Write_Message_LengthPrefixIsBigEndianBodySize()
    {
        var frame = new InstanceFrame { RequestId = 300, CommitNow = new CommitNow() };

        var bytes = FrameWriter.ToArray(frame);

        Assert.Equal(frame.CalculateSize(), (int)BinaryPrimitives.ReadUInt32BigEndian(bytes));
        Assert.Equal(Frames.HeaderSize + frame.CalculateSize(), bytes.Length);
        Assert.Equal(frame, InstanceFrame.Parser.ParseFrom(bytes.AsSpan(Frames.HeaderSize)));
    }

    private static ReadOnlySequence<byte> Segments(params byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(part);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
