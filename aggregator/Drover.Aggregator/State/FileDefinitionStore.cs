namespace Drover.Aggregator.State;

/// <summary>
/// Definitions in JSON files of the data directory, <c>&lt;dataDirectory&gt;/&lt;kind&gt;.json</c>: each written atomically
/// and durably (a temporary file flushed to disk, renamed over the old one), readable by its owner only, since
/// definitions hold environment values (secrets, often) and key hashes. What SQLite's store keeps definitions in.
/// </summary>
internal sealed class FileDefinitionStore(string dataDirectory) : IDefinitionStore
{
    public string? LoadDefinitions(string kind)
    {
        var path = DescribeDefinitions(kind);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    public void SaveDefinitions(string kind, string json)
    {
        var path = DescribeDefinitions(kind);
        var temporary = path + ".tmp";

        // 0600 from the start: never readable by others, not even for a moment.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(json);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public string DescribeDefinitions(string kind) => Path.Combine(dataDirectory, kind + ".json");
}
