using System.Globalization;
using System.Security.Cryptography;
using Drover.Agent.Configuration;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// Receives committed snapshots the aggregator sends before a StartInstance or RestoreState that
/// names them, chunk by chunk, into the instance's <c>staging/</c> folder. Only a snapshot whose size
/// and SHA-256 match what the chunks announced becomes usable; anything else is discarded.
/// </summary>
internal sealed partial class RestoreStaging
{
    /// <summary>The largest snapshot the agent accepts.</summary>
    public const long MaxSnapshotBytes = Drover.Protocol.Snapshots.SnapshotLimits.MaxSnapshotBytes;

    private readonly string _instancesRoot;
    private readonly ILogger<RestoreStaging> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string InstanceId, ulong Version), Upload> _uploads = [];

    public RestoreStaging(AgentOptions options, ILogger<RestoreStaging> logger)
    {
        _instancesRoot = InstanceManager.InstancesRoot(options);
        _logger = logger;
    }

    public void Add(StateChunk chunk)
    {
        if (InstanceIds.Validate(chunk.InstanceId) is { } idError)
        {
            Log.ChunkRefused(_logger, chunk.InstanceId, chunk.Version, idError);
            return;
        }

        lock (_gate)
        {
            var key = (chunk.InstanceId, chunk.Version);
            try
            {
                if (chunk.Index == 0)
                {
                    Discard(key);
                    if (chunk.TotalSize > MaxSnapshotBytes || chunk.Count == 0 || chunk.Sha256.Length != 64)
                    {
                        throw new InvalidDataException($"snapshot of {chunk.TotalSize} bytes in {chunk.Count} chunks with checksum '{chunk.Sha256}' is not acceptable (at most {MaxSnapshotBytes} bytes, a SHA-256 in hex)");
                    }

                    var directory = new InstanceDirectory(_instancesRoot, chunk.InstanceId).StagingPath;
                    Directory.CreateDirectory(directory);
                    var path = Path.Combine(directory, $"{chunk.Version.ToString(CultureInfo.InvariantCulture)}.tar.part");
                    _uploads[key] = new Upload(path, new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None), IncrementalHash.CreateHash(HashAlgorithmName.SHA256), chunk);
                }

                if (!_uploads.TryGetValue(key, out var upload))
                {
                    throw new InvalidDataException($"chunk {chunk.Index} arrived without chunk 0");
                }

                if (chunk.Index != upload.NextIndex || chunk.Count != upload.First.Count || chunk.Sha256 != upload.First.Sha256)
                {
                    throw new InvalidDataException($"chunk {chunk.Index} of {chunk.Count} arrived when chunk {upload.NextIndex} of {upload.First.Count} was expected");
                }

                if (upload.Written + chunk.Data.Length > (long)upload.First.TotalSize)
                {
                    throw new InvalidDataException($"the chunks exceed the announced size of {upload.First.TotalSize} bytes");
                }

                var data = chunk.Data.Span;
                upload.File.Write(data);
                upload.Hash.AppendData(data);
                upload.Written += data.Length;
                upload.NextIndex++;
                if (upload.NextIndex < upload.First.Count)
                {
                    return;
                }

                _uploads.Remove(key);
                var sha = Convert.ToHexStringLower(upload.Hash.GetHashAndReset());
                upload.Dispose();
                if (upload.Written != (long)upload.First.TotalSize || sha != upload.First.Sha256)
                {
                    File.Delete(upload.Path);
                    throw new InvalidDataException($"the snapshot's size or SHA-256 does not match ({upload.Written} bytes, {sha})");
                }

                File.Move(upload.Path, StagedPath(chunk.InstanceId, chunk.Version), overwrite: true);
                Log.Staged(_logger, chunk.InstanceId, chunk.Version, upload.Written);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                Discard(key);
                Log.ChunkRefused(_logger, chunk.InstanceId, chunk.Version, ex.Message);
            }
        }
    }

    /// <summary>The staged archive for <paramref name="snapshot"/>, or why there is none.</summary>
    public (string? Path, string? Error) Find(string instanceId, StateRef snapshot)
    {
        var path = StagedPath(instanceId, snapshot.Version);
        if (!File.Exists(path))
        {
            return (null, $"snapshot version {snapshot.Version} of instance '{instanceId}' was not received");
        }

        using var stream = File.OpenRead(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        return sha == snapshot.Sha256
            ? (path, null)
            : (null, $"the staged snapshot version {snapshot.Version} of instance '{instanceId}' has checksum {sha}, not {snapshot.Sha256}");
    }

    private string StagedPath(string instanceId, ulong version)
        => Path.Combine(new InstanceDirectory(_instancesRoot, instanceId).StagingPath, $"{version.ToString(CultureInfo.InvariantCulture)}.tar");

    private void Discard((string, ulong) key)
    {
        if (_uploads.Remove(key, out var upload))
        {
            upload.Dispose();
            File.Delete(upload.Path);
        }
    }

    private sealed class Upload(string path, FileStream file, IncrementalHash hash, StateChunk first) : IDisposable
    {
        public string Path { get; } = path;

        public FileStream File { get; } = file;

        public IncrementalHash Hash { get; } = hash;

        public StateChunk First { get; } = first;

        public long Written { get; set; }

        public uint NextIndex { get; set; }

        public void Dispose()
        {
            File.Dispose();
            Hash.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2701, EventName = "SnapshotStaged", Level = LogLevel.Information,
            Message = "Snapshot version {Version} of instance '{InstanceId}' received ({Bytes} bytes) and staged for restore.")]
        public static partial void Staged(ILogger logger, string instanceId, ulong version, long bytes);

        [LoggerMessage(EventId = 2702, EventName = "RestoreChunkRefused", Level = LogLevel.Warning,
            Message = "A restore chunk of snapshot version {Version} of instance '{InstanceId}' was refused: {Reason}.")]
        public static partial void ChunkRefused(ILogger logger, string instanceId, ulong version, string reason);
    }
}
