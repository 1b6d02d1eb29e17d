using Drover.Protocol;

namespace Drover.Agent.Identity;

/// <summary>
/// The node id: created once and kept in the state directory, so a restarted agent is the same node
/// to the aggregator. Written atomically (temporary file, flush, rename) so a crash while creating
/// it never leaves a half-written id.
/// </summary>
internal static class NodeIdStore
{
    public const string FileName = "node-id";

    /// <summary>
    /// Reads the node id from <paramref name="stateDirectory"/>, creating the directory and the id on
    /// first start: <paramref name="certified"/> when the link's certificate names the node (a kept id
    /// that differs is a configuration error: the state belongs to another node), else a new one.
    /// </summary>
    public static string LoadOrCreate(string stateDirectory, string? certified = null)
    {
        var path = Path.Combine(stateDirectory, FileName);
        try
        {
            Directory.CreateDirectory(stateDirectory);
            if (File.Exists(path))
            {
                var id = File.ReadAllText(path).Trim();
                if (!Names.IsId(id))
                {
                    throw new ConfigurationException(
                        $"stateDirectory = '{stateDirectory}': its file '{FileName}' holds '{Truncate(id)}', not a node id (1-64 characters of A-Z a-z 0-9 . _ -); repair or remove the file");
                }

                return certified is null || certified == id
                    ? id
                    : throw new ConfigurationException(
                        $"linkCertificateFile names node '{Truncate(certified)}', but stateDirectory = '{stateDirectory}' belongs to node '{id}' (its file '{FileName}'); use that node's certificate, or another state directory");
            }

            if (certified is not null && !Names.IsId(certified))
            {
                throw new ConfigurationException($"linkCertificateFile names node '{Truncate(certified)}', not a node id (1-64 characters of A-Z a-z 0-9 . _ -)");
            }

            var created = certified ?? Guid.NewGuid().ToString("N");
            var temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(created);
                writer.Write('\n');
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
            return created;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"stateDirectory = '{stateDirectory}': the node id cannot be kept there ({ex.Message}); expected a writable directory", ex);
        }
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
