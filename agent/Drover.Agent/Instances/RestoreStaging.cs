using System.Globalization;
using System.Security.Cryptography;
using Drover.Agent.Configuration;
using Drover.Protocol.Snapshots;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// Receives committed snapshots the aggregator sends before a StartInstance or RestoreState that
/// names them, chunk by chunk, into the instance's <c>staging/</c> folder. Only a snapshot whose size
/// and SHA-256 match what the chunks announced becomes usable; anything else is discarded.
/// </summary>
/// <remarks>
/// The chunks keep the rules of <see cref="SnapshotChunkReceiver"/>, the same the aggregator holds an
/// agent's commits to: chunk 0 starts (or starts again) a snapshot, the others follow in order, each
/// once, repeating chunk 0's description, and the bytes add up to its size and SHA-256. A refusal is
/// only logged: the aggregator's restore finds no staged snapshot and says so.
/// </remarks>
internal sealed partial class RestoreStaging
{
    /// <summary>The largest snapshot the agent accepts.</summary>
    public const long MaxSnapshotBytes = SnapshotLimits.MaxSnapshotBytes;

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
                var totalSize = (long)Math.Min(chunk.TotalSize, long.MaxValue);
                if (SnapshotChunkReceiver.Validate(chunk.Index, chunk.Count, totalSize, chunk.Sha256, chunk.Data.Length, MaxSnapshotBytes, "the largest snapshot this agent restores") is { } invalid)
                {
                    throw new InvalidDataException(invalid);
                }

                if (chunk.Index == 0)
                {
                    Discard(key);
                    var directory = new InstanceDirectory(_instancesRoot, chunk.InstanceId).CreateStaging();
                    var path = Path.Combine(directory, $"{chunk.Version.ToString(CultureInfo.InvariantCulture)}.tar.part");
                    _uploads[key] = new Upload(path, new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }), new SnapshotChunkReceiver(chunk.Count, totalSize, chunk.Sha256));
                }

                if (!_uploads.TryGetValue(key, out var upload))
                {
                    throw new InvalidDataException($"chunk {chunk.Index} arrived without chunk 0");
                }

                var receiver = upload.Receiver;
                var fault = receiver.Check(chunk.Index, chunk.Count, totalSize, chunk.Sha256, chunk.Data.Length);
                if (fault == SnapshotChunkFault.TooLong)
                {
                    throw new InvalidDataException($"the chunks exceed the announced size of {receiver.TotalSize} bytes");
                }

                if (fault != SnapshotChunkFault.None)
                {
                    var expected = $"chunk {chunk.Index} of {chunk.Count} arrived when chunk {receiver.NextIndex} of {receiver.Count} was expected";
                    throw new InvalidDataException(fault == SnapshotChunkFault.Differs ? $"{expected} ({receiver.Differs(chunk.Count, totalSize, chunk.Sha256)})" : expected);
                }

                var data = chunk.Data.Span;
                upload.File.Write(data);
                receiver.Append(data);
                if (!receiver.IsComplete)
                {
                    return;
                }

                _uploads.Remove(key);
                var end = receiver.Finish();
                upload.Dispose();
                if (end != SnapshotChunkFault.None)
                {
                    File.Delete(upload.Path);
                    throw new InvalidDataException($"the snapshot's size or SHA-256 does not match ({receiver.Received} bytes, {receiver.ActualSha256})");
                }

                File.Move(upload.Path, StagedPath(chunk.InstanceId, chunk.Version), overwrite: true);
                Log.Staged(_logger, chunk.InstanceId, chunk.Version, receiver.Received);
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

    /// <summary>A snapshot being received: its staging file and the receiver that checks, counts and hashes its chunks.</summary>
    private sealed class Upload(string path, FileStream file, SnapshotChunkReceiver receiver) : IDisposable
    {
        public string Path { get; } = path;

        public FileStream File { get; } = file;

        public SnapshotChunkReceiver Receiver { get; } = receiver;

        public void Dispose()
        {
            File.Dispose();
            Receiver.Dispose();
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
