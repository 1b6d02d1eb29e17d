using System.Formats.Tar;
using System.Security.Cryptography;

namespace Drover.Agent.Instances;

/// <summary>Snapshots of a state directory as tar archives: taken to a temporary file, restored into a fresh directory.</summary>
internal static class StateArchive
{
    /// <summary>
    /// Writes the archive and nothing else: the part that must see the directory still, kept short
    /// because the instance's process is frozen meanwhile. The temporary file is not fsynced: it is
    /// read back at once, and a crash loses only an uncommitted snapshot.
    /// </summary>
    public static void Write(string stateDirectory, string archivePath)
    {
        Directory.CreateDirectory(stateDirectory);
        using var output = new FileStream(archivePath, FileMode.Create, FileAccess.Write, FileShare.None);
        TarFile.CreateFromDirectory(stateDirectory, output, includeBaseDirectory: false);
    }

    /// <summary>An archive's size and SHA-256 (lowercase hex).</summary>
    public static (long Size, string Sha256) Measure(string archivePath)
    {
        using var input = File.OpenRead(archivePath);
        return (input.Length, Convert.ToHexStringLower(SHA256.HashData(input)));
    }

    /// <summary>
    /// Replaces <paramref name="stateDirectory"/> with the archive's content: extracted beside it first,
    /// then swapped in, so a failed extraction leaves the old state untouched.
    /// </summary>
    public static void Restore(string archivePath, string stateDirectory)
    {
        var fresh = stateDirectory + ".restore";
        var old = stateDirectory + ".old";
        DeleteIfExists(fresh);
        DeleteIfExists(old);
        Directory.CreateDirectory(fresh);
        TarFile.ExtractToDirectory(archivePath, fresh, overwriteFiles: false);
        if (Directory.Exists(stateDirectory))
        {
            Directory.Move(stateDirectory, old);
        }

        Directory.Move(fresh, stateDirectory);
        DeleteIfExists(old);
    }

    private static void DeleteIfExists(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
