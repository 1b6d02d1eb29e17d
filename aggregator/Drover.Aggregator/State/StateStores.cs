using Drover.Aggregator.Configuration;
using Npgsql;

namespace Drover.Aggregator.State;

/// <summary>The state stores the <c>store</c> key names, and what <c>store: postgres</c> reads at start.</summary>
internal static class StateStores
{
    /// <summary><see cref="SqliteStateStore"/>: <c>state.db</c> in the data directory; one aggregator.</summary>
    public const string Sqlite = "sqlite";

    /// <summary><see cref="PostgresStateStore"/>: a PostgreSQL database that several aggregators can share.</summary>
    public const string Postgres = "postgres";

    public const string Accepted = "sqlite (state.db in dataDirectory) or postgres (the database of postgresConnectionStringFile)";

    /// <summary>The store's name in lower case, or null when it is none of <see cref="Sqlite"/> and <see cref="Postgres"/>.</summary>
    public static string? Parse(string? name) => name?.ToLowerInvariant() switch
    {
        Sqlite => Sqlite,
        Postgres => Postgres,
        _ => null,
    };

    /// <summary>
    /// The connection string in <see cref="AggregatorOptions.PostgresConnectionStringFile"/>; a
    /// <see cref="ConfigurationException"/> naming the key when the file cannot be read, group or others may read it,
    /// or it is not a connection string naming a host and a database. The message never quotes the file's content.
    /// </summary>
    public static string ReadPostgresConnectionString(AggregatorOptions options)
    {
        const string Key = "postgresConnectionStringFile";
        var path = options.PostgresConnectionStringFile;
        string text;
        try
        {
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new ConfigurationException($"{Key} = '{path}': group or others may read or write it, and it holds the database's password; expected mode 0600 (chmod 600)");
            }

            text = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{Key} = '{path}': cannot be read ({ex.Message}); expected a file holding the PostgreSQL connection string");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(text);
        }
        catch (ArgumentException ex)
        {
            // The builder's message names the keyword at fault, not its value.
            throw new ConfigurationException($"{Key} = '{path}': not a PostgreSQL connection string ({ex.Message}); expected Host=...;Database=...;Username=...;Password=...");
        }

        if (string.IsNullOrWhiteSpace(builder.Host) || string.IsNullOrWhiteSpace(builder.Database))
        {
            throw new ConfigurationException($"{Key} = '{path}': the connection string names no {(string.IsNullOrWhiteSpace(builder.Host) ? "Host" : "Database")}; expected Host=...;Database=...;Username=...;Password=...");
        }

        return text;
    }
}
