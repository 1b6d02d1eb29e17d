using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Drover.Protocol;

namespace Drover.Aggregator.Access;

/// <summary>
/// The tokens file (<c>apiTokensFile</c>): <c>{"tokens": [{"name", "role", "sha256"}]}</c>, written
/// 0600. It holds hashes only, so reading it gives nobody a token; writing it gives anyone one, so a
/// file that group or others may write is refused.
/// </summary>
internal static class ApiTokenFile
{
    /// <summary>The configuration key that names the file, as refusals name it.</summary>
    public const string Key = "apiTokensFile";

    /// <summary>The most entries a file may hold.</summary>
    public const int MaxTokens = 1000;

    /// <summary>What a token starts with, so a leaked one is recognisable (secret scanners, logs).</summary>
    public const string TokenPrefix = "drv_";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
    };

    /// <summary>A new token: the prefix and 32 random bytes, base64url (256 bits of entropy).</summary>
    public static string NewToken() => TokenPrefix + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>The SHA-256 of <paramref name="token"/>'s UTF-8 bytes, as the file stores it.</summary>
    public static string HashOf(string token) => Drover.Protocol.Security.InvocationKeys.HashOf(token);

    /// <summary>
    /// The entries of <paramref name="path"/>; none when the file does not exist. Throws
    /// <see cref="ConfigurationException"/> naming <see cref="Key"/> for a file that cannot be read, is
    /// not valid, or may be written by group or others.
    /// </summary>
    public static IReadOnlyList<ApiToken> Read(string path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return [];
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw Invalid(path, "group or others may write it (anyone who can write it can add a token); expected mode 0600 (chmod 600)");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Invalid(path, $"it cannot be read ({ex.Message})");
        }

        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(text, Json);
        }
        catch (JsonException ex)
        {
            throw Invalid(path, $"it is not a valid tokens file at {ex.Path ?? "$"}: {ex.Message}");
        }

        var tokens = document?.Tokens ?? [];
        if (tokens.Count > MaxTokens)
        {
            throw Invalid(path, $"it holds {tokens.Count} tokens; expected at most {MaxTokens}");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token is null || !Names.IsName(token.Name))
            {
                throw Invalid(path, $"tokens[{i}].name = '{token?.Name}': expected 1-63 characters of a-z 0-9 -, not starting with -");
            }

            if (!names.Add(token.Name))
            {
                throw Invalid(path, $"tokens[{i}].name = '{token.Name}' is used twice; expected unique names");
            }

            if (!ApiRoles.IsRole(token.Role))
            {
                throw Invalid(path, $"tokens[{i}].role = '{token.Role}': expected {ApiRoles.Accepted}");
            }

            if (!Drover.Protocol.Security.InvocationKeys.IsHash(token.Sha256))
            {
                throw Invalid(path, $"tokens[{i}].sha256: expected 64 lowercase hexadecimal digits (the SHA-256 of the token)");
            }
        }

        return tokens;
    }

    /// <summary>
    /// Writes <paramref name="tokens"/> to <paramref name="path"/> whole, mode 0600 from the start (a
    /// temporary file beside it, then renamed over it), so no reader ever sees half a file.
    /// </summary>
    public static void Write(string path, IReadOnlyList<ApiToken> tokens)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, new Document(tokens.ToList()), Json);
            stream.Write("\n"u8);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static ConfigurationException Invalid(string path, string reason)
        => new($"{Key} = '{path}': {reason}");

    private sealed record Document(List<ApiToken> Tokens);
}
