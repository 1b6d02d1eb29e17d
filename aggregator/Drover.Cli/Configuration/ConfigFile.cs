using System.Text.Json;

namespace Drover.Cli.Configuration;

/// <summary>
/// droverctl's config file, <c>$XDG_CONFIG_HOME/drover/config.json</c> (<c>~/.config/drover/config.json</c> when
/// XDG_CONFIG_HOME is unset or not absolute): <c>{"url": "...", "token": "..."}</c>, both optional.
/// </summary>
internal sealed record ConfigFile(string? Url, string? Token)
{
    /// <summary>The largest file read: it holds two strings.</summary>
    public const int MaxBytes = 64 * 1024;

    private static readonly string[] Fields = ["url", "token"];

    /// <summary>The file's path under the environment's XDG_CONFIG_HOME or HOME.</summary>
    public static string PathFrom(Func<string, string?> environment)
    {
        var configHome = environment("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(configHome) || !Path.IsPathRooted(configHome))
        {
            // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored.
            var home = environment("HOME");
            configHome = Path.Combine(string.IsNullOrEmpty(home) ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) : home, ".config");
        }

        return Path.Combine(configHome, "drover", "config.json");
    }

    /// <summary>The file's settings; empty when it does not exist; a usage error naming the file when it is not valid.</summary>
    public static ConfigFile Load(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return new ConfigFile(null, null);
            }

            if (info.Length > MaxBytes)
            {
                throw Invalid(path, $"it is {info.Length} bytes; expected at most {MaxBytes}");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Invalid(path, $"it cannot be read: {ex.Message}");
        }

        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, $"it holds a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}; expected an object {{\"url\": ..., \"token\": ...}}");
            }

            string? url = null, token = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw Invalid(path, $"\"{property.Name}\" is a JSON {property.Value.ValueKind.ToString().ToLowerInvariant()}; expected a string"),
                };
                switch (property.Name)
                {
                    case "url":
                        url = value;
                        break;
                    case "token":
                        token = value;
                        break;
                    default:
                        throw Invalid(path, $"\"{property.Name}\" is not a setting; expected {string.Join(" or ", Fields.Select(f => $"\"{f}\""))}");
                }
            }

            return new ConfigFile(url, token);
        }
        catch (JsonException ex)
        {
            throw Invalid(path, $"it is not valid JSON: {ex.Message}");
        }
    }

    private static CliException Invalid(string path, string why) => new(ExitCodes.Usage, $"the config file {path} is not valid: {why}");
}
