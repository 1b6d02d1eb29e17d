using Microsoft.Extensions.Configuration;

namespace Drover.Hosting;

/// <summary>
/// Where a program's configuration comes from, later sources winning: its JSON file (named by
/// <c>--config</c>, or the default path, which may be missing), environment variables with the
/// program's prefix, the command line.
/// </summary>
public static class ConfigurationSources
{
    public static IConfigurationRoot Build(string[] args, string defaultFile, string environmentPrefix)
    {
        ArgumentNullException.ThrowIfNull(args);
        var early = new ConfigurationBuilder().AddEnvironmentVariables(environmentPrefix).AddCommandLine(args).Build();
        var file = early["config"];
        var builder = new ConfigurationBuilder();
        if (string.IsNullOrEmpty(file))
        {
            builder.AddJsonFile(defaultFile, optional: true, reloadOnChange: false);
        }
        else if (File.Exists(file))
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }
        else
        {
            // A file named explicitly must exist: a typo in --config is not a silent default.
            throw new ConfigurationException($"config = '{file}': the file does not exist; expected the path of a JSON configuration file");
        }

        try
        {
            return builder.AddEnvironmentVariables(environmentPrefix).AddCommandLine(args).Build();
        }
        catch (InvalidDataException ex)
        {
            throw new ConfigurationException($"config = '{(string.IsNullOrEmpty(file) ? defaultFile : file)}': {ex.Message}", ex);
        }
    }

    /// <summary>Creates <paramref name="directory"/> (the value of <paramref name="key"/>) or fails naming the key.</summary>
    public static void EnsureDirectory(string key, string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{key} = '{directory}': the directory cannot be created ({ex.Message}); expected a writable path");
        }
    }
}
