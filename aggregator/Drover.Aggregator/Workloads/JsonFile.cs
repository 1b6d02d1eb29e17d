using System.Text.Json;

namespace Drover.Aggregator.Workloads;

/// <summary>The aggregator's small JSON files (definitions): read whole, written atomically and durably.</summary>
internal static class JsonFile
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The file's list, empty when it does not exist; a file that does not parse stops the start-up.</summary>
    public static List<T> ReadList<T>(string path, string what)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<List<T>>(File.ReadAllText(path), Options) ?? [] : [];
        }
        catch (JsonException ex)
        {
            // Never start with some definitions silently dropped: the operator repairs or removes the file.
            throw new InvalidDataException($"'{path}' is not a valid list of {what} ({ex.Message}); repair it or remove it to start with none.", ex);
        }
    }

    /// <summary>Writes to a temporary file, flushes it to disk, and renames it over the old one.</summary>
    public static void Write<T>(string path, T value)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, value, Options);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
