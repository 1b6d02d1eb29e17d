using System.Security.Cryptography;
using Drover.Aggregator.Configuration;

namespace Drover.Aggregator.Security;

/// <summary>
/// The fleet's shim credential (see <see cref="Protocol.Http.DroverHeaders.ShimCredential"/>): 32
/// random bytes, base64url, made at the first start and kept in <c>dataDirectory/shim-credential</c>
/// (0600), or with several aggregators in their PostgreSQL store (<see cref="For"/>), so agents keep trusting each
/// other's shims across an aggregator restart or a new leader. Agents receive it
/// in their Welcome, over the (mutual-TLS) link.
/// </summary>
internal static class ShimCredentialFile
{
    /// <summary>The credential, as the services that hand it out take it.</summary>
    internal sealed record Credential(string Value);

    public const string FileName = "shim-credential";

    /// <summary>
    /// The fleet's credential from <paramref name="store"/>: kept in the PostgreSQL store, which every aggregator on it
    /// reads alike (each one's gateway presents it to the nodes' shims); else this file of the data directory.
    /// </summary>
    public static string For(AggregatorOptions options, State.IAggregatorStore store)
        => store is State.PostgresStateStore shared ? shared.GetOrCreateSecret(FileName, NewValue) : LoadOrCreate(options);

    /// <summary>32 random bytes, base64url.</summary>
    public static string NewValue() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string LoadOrCreate(AggregatorOptions options)
    {
        var path = Path.Combine(options.DataDirectory, FileName);
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path).Trim();
            if (kept.Length >= 32)
            {
                return kept;
            }

            throw new InvalidDataException($"'{path}' does not hold a shim credential; remove it and the aggregator makes a new one (agents get it when they reconnect)");
        }

        Directory.CreateDirectory(options.DataDirectory);
        var created = NewValue();
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(created);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: false);
        return created;
    }
}
