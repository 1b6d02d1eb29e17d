using System.Reflection;
using System.Security.Cryptography;

namespace Drover.Aggregator.Dashboard;

/// <summary>
/// The dashboard's static files, embedded in the aggregator's assembly (<c>Dashboard/Files/</c>, logical names
/// <c>dashboard/NAME</c>), so every build of it carries them: <c>out/aggregator</c>, the self-contained publish of
/// <c>make package</c> and the Debian package alike, with nothing to copy beside the binary. Read once, at start.
/// </summary>
internal sealed class DashboardFiles
{
    /// <summary>What an embedded resource's logical name starts with (the project file sets it).</summary>
    public const string ResourcePrefix = "dashboard/";

    private readonly Dictionary<string, DashboardFile> _files;

    private DashboardFiles(Dictionary<string, DashboardFile> files) => _files = files;

    /// <summary>The files embedded in <paramref name="assembly"/> (the aggregator's own by default).</summary>
    public static DashboardFiles Load(Assembly? assembly = null)
    {
        assembly ??= typeof(DashboardFiles).Assembly;
        var files = new Dictionary<string, DashboardFile>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            if (ContentTypeOf(name) is not { } contentType)
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();

            // A strong validator from the content: the same file in another build gets the same ETag, a changed one another.
            var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..32]}\"";
            files[name] = new DashboardFile(name, bytes, contentType, etag);
        }

        return new DashboardFiles(files);
    }

    /// <summary>The file of that name (as under <c>Dashboard/Files/</c>, e.g. <c>app.js</c>), or null.</summary>
    public DashboardFile? Find(string name) => _files.GetValueOrDefault(name);

    /// <summary>The names of every file, for tests.</summary>
    public IEnumerable<string> Names => _files.Keys;

    /// <summary>The content type a file is served with, by its extension; null for a kind the dashboard does not serve.</summary>
    public static string? ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => null,
    };
}

/// <summary>One embedded dashboard file: its bytes, content type and ETag.</summary>
internal sealed record DashboardFile(string Name, byte[] Content, string ContentType, string ETag);
