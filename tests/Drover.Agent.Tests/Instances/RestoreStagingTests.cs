using System.Security.Cryptography;
using Drover.Agent.Configuration;
using Drover.Agent.Instances;
using Drover.Protocol.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Instances;

public sealed class RestoreStagingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-staging-").FullName;
    private readonly RestoreStaging _staging;

    public RestoreStagingTests()
    {
        _staging = new RestoreStaging(new AgentOptions { ServerNumber = 1, StateDirectory = _root }, NullLogger<RestoreStaging>.Instance);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (StateChunk[] Chunks, StateRef Ref) Snapshot(string instanceId, byte[] data, int chunkSize)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(data));
        var count = (uint)Math.Max(1, (data.Length + chunkSize - 1) / chunkSize);
        var chunks = Enumerable.Range(0, (int)count).Select(i => new StateChunk
        {
            InstanceId = instanceId,
            Function = "counter",
            Version = 3,
            Index = (uint)i,
            Count = count,
            TotalSize = (ulong)data.Length,
            Sha256 = sha,
            Data = ByteString.CopyFrom(data.AsSpan(i * chunkSize, Math.Min(chunkSize, data.Length - (i * chunkSize)))),
        }).ToArray();
        return (chunks, new StateRef { Version = 3, Sha256 = sha, SizeBytes = (ulong)data.Length });
    }

    [Fact]
    public void Add_AllChunksInOrder_SnapshotIsFound()
    {
        var (chunks, reference) = Snapshot("counter-1", RandomNumberGenerator.GetBytes(10_000), 3000);

        foreach (var chunk in chunks)
        {
            _staging.Add(chunk);
        }

        var (path, error) = _staging.Find("counter-1", reference);
        Assert.Null(error);
        Assert.Equal(10_000, new FileInfo(path!).Length);
    }

    [Fact]
    public void Add_MissingLastChunk_NothingIsFound()
    {
        var (chunks, reference) = Snapshot("counter-1", RandomNumberGenerator.GetBytes(10_000), 3000);

        foreach (var chunk in chunks[..^1])
        {
            _staging.Add(chunk);
        }

        Assert.Contains("was not received", _staging.Find("counter-1", reference).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_ChunkOutOfOrder_UploadIsDiscarded()
    {
        var (chunks, reference) = Snapshot("counter-1", RandomNumberGenerator.GetBytes(10_000), 3000);

        _staging.Add(chunks[0]);
        _staging.Add(chunks[2]);
        _staging.Add(chunks[1]);
        _staging.Add(chunks[3]);

        Assert.NotNull(_staging.Find("counter-1", reference).Error);
    }

    [Fact]
    public void Add_CorruptedData_NotFound()
    {
        var (chunks, reference) = Snapshot("counter-1", RandomNumberGenerator.GetBytes(5000), 5000);
        chunks[0].Data = ByteString.CopyFrom(new byte[5000]);

        _staging.Add(chunks[0]);

        Assert.NotNull(_staging.Find("counter-1", reference).Error);
    }

    [Fact]
    public void Add_EmptySnapshot_SnapshotIsFound()
    {
        var (chunks, reference) = Snapshot("counter-1", [], 3000);

        _staging.Add(Assert.Single(chunks));

        var (path, error) = _staging.Find("counter-1", reference);
        Assert.Null(error);
        Assert.Equal(0, new FileInfo(path!).Length);
    }

    [Fact]
    public void Add_ChunkDescribingAnotherSize_UploadIsDiscarded()
    {
        var (chunks, reference) = Snapshot("counter-1", RandomNumberGenerator.GetBytes(10_000), 3000);
        chunks[1].TotalSize = 20_000;

        foreach (var chunk in chunks)
        {
            _staging.Add(chunk);
        }

        Assert.Contains("was not received", _staging.Find("counter-1", reference).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_PathLikeInstanceId_WritesNothingOutsideTheRoot()
    {
        var (chunks, _) = Snapshot("../escape", [1, 2, 3], 10);

        _staging.Add(chunks[0]);

        Assert.False(Directory.Exists(Path.Combine(_root, "escape")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }
}
