namespace Drover.Aggregator.State;

/// <summary>
/// A committed snapshot opened for reading: its description and its archive, read from one
/// consistent view of the store. It holds store resources (for SQLite, a connection and a read
/// transaction) until disposed, so dispose it as soon as the archive has been sent on.
/// </summary>
internal sealed class StoredSnapshot : IDisposable, IAsyncDisposable
{
    public StoredSnapshot(SnapshotInfo info, Stream content)
    {
        Info = info;
        Content = content;
    }

    public SnapshotInfo Info { get; }

    /// <summary>The archive, positioned at its start; <see cref="SnapshotInfo.SizeBytes"/> long.</summary>
    public Stream Content { get; }

    public void Dispose() => Content.Dispose();

    public ValueTask DisposeAsync() => Content.DisposeAsync();
}
