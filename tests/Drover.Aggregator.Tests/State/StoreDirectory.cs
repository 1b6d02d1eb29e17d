using Drover.Aggregator.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.State;

/// <summary>A temporary data directory and the stores opened on it (a second one is the store of a restarted aggregator); disposed together.</summary>
internal sealed class StoreDirectory : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<SqliteStateStore> _stores = [];

    public string Path => _directory.Path;

    public SqliteStateStore Open()
    {
        var store = new SqliteStateStore(_directory.Path, NullLogger<SqliteStateStore>.Instance);
        _stores.Add(store);
        return store;
    }

    /// <summary>Closes every open store and opens the file again, as a restarted aggregator does.</summary>
    public SqliteStateStore Reopen()
    {
        CloseAll();
        return Open();
    }

    public void Dispose()
    {
        CloseAll();
        _directory.Dispose();
    }

    private void CloseAll()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _stores.Clear();
    }
}
