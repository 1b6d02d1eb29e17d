using System.Globalization;

namespace Drover.Samples.Counter;

/// <summary>The count, in one file written atomically (temporary file, flush, rename), so a kill at any moment leaves a whole number.</summary>
internal sealed class CountStore(string path)
{
    private readonly Lock _gate = new();

    public long Read()
    {
        lock (_gate)
        {
            return File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : 0;
        }
    }

    public long Increment()
    {
        lock (_gate)
        {
            var next = Read() + 1;
            var temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(next.ToString(CultureInfo.InvariantCulture));
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return next;
        }
    }
}
