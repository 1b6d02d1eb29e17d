using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Microsoft.Extensions.Configuration;

namespace Drover.Aggregator.Tests.State;

/// <summary>The <c>store</c> and <c>postgresConnectionStringFile</c> keys: their defaults and what stops the start.</summary>
public sealed class StateStoresTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static AggregatorOptions Load(params (string Key, string Value)[] values)
        => AggregatorOptionsLoader.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    private string ConnectionFile(string content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_directory.Path, "postgres.conn");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void Load_Nothing_SqliteWithNoConnectionFile()
    {
        var options = Load();

        Assert.Equal("sqlite", options.Store);
        Assert.Equal("", options.PostgresConnectionStringFile);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("PostgreS")]
    public void Load_PostgresWithAFile_Accepted(string store)
    {
        var options = Load(("store", store), ("postgresConnectionStringFile", "/etc/drover/postgres.conn"));

        Assert.Equal(StateStores.Postgres, StateStores.Parse(options.Store));
    }

    [Fact]
    public void Load_UnknownStore_FailsNamingTheKeyAndTheChoices()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(("store", "mysql")));

        Assert.Equal("store = 'mysql': expected sqlite (state.db in dataDirectory) or postgres (the database of postgresConnectionStringFile)", error.Message);
    }

    [Fact]
    public void Load_PostgresWithoutAFile_FailsNamingTheFileKey()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(("store", "postgres")));

        Assert.StartsWith("postgresConnectionStringFile = '': expected the path of a file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadPostgresConnectionString_GoodFile_TheConnectionStringTrimmed()
    {
        var path = ConnectionFile("Host=db;Port=5433;Database=drover;Username=drover;Password='p@ss;word'\n");

        var read = StateStores.ReadPostgresConnectionString(new AggregatorOptions { PostgresConnectionStringFile = path });

        Assert.Equal("Host=db;Port=5433;Database=drover;Username=drover;Password='p@ss;word'", read);
    }

    [Theory]
    [InlineData("Host=db;Username=drover;Password=secret-value", "names no Database")]
    [InlineData("Database=drover;Username=drover;Password=secret-value", "names no Host")]
    [InlineData("Host=db;Database=drover;Password=secret-value;Bogus Keyword=1", "not a PostgreSQL connection string")]
    public void ReadPostgresConnectionString_NotUsable_FailsWithoutQuotingThePassword(string content, string expected)
    {
        var path = ConnectionFile(content);

        var error = Assert.Throws<ConfigurationException>(() => StateStores.ReadPostgresConnectionString(new AggregatorOptions { PostgresConnectionStringFile = path }));

        Assert.StartsWith($"postgresConnectionStringFile = '{path}': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void ReadPostgresConnectionString_OthersMayReadOrWrite_Fails(UnixFileMode extra)
    {
        var path = ConnectionFile("Host=db;Database=drover;Password=secret-value", UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);

        var error = Assert.Throws<ConfigurationException>(() => StateStores.ReadPostgresConnectionString(new AggregatorOptions { PostgresConnectionStringFile = path }));

        Assert.Contains("expected mode 0600", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadPostgresConnectionString_Missing_FailsNamingTheFile()
    {
        var path = Path.Combine(_directory.Path, "absent.conn");

        var error = Assert.Throws<ConfigurationException>(() => StateStores.ReadPostgresConnectionString(new AggregatorOptions { PostgresConnectionStringFile = path }));

        Assert.StartsWith($"postgresConnectionStringFile = '{path}': cannot be read", error.Message, StringComparison.Ordinal);
    }
}
