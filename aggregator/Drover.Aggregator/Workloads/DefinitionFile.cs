using System.Text.Json;
using Drover.Aggregator.State;

namespace Drover.Aggregator.Workloads;

/// <summary>
/// Definitions by name, kept as one JSON list in the store (<see cref="IDefinitionStore"/>: a file of the data
/// directory with SQLite, a row with PostgreSQL): read whole at start, and written whole and durably on every
/// change, before the change is visible. The function and service registries and the invocation keys are each one
/// of these. Readers never wait on a write: a change builds the next list and swaps it in once saved, so the gateway
/// and the decision pass read the last saved list while a store write (a round trip to PostgreSQL) is under way.
/// </summary>
internal sealed class DefinitionFile<T>
    where T : class
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Held by writers only, across the save: one change at a time, each on the last saved list.</summary>
    private readonly Lock _writing = new();
    private readonly IDefinitionStore _store;
    private readonly string _kind;
    private readonly string _what;
    private readonly Func<T, string> _keyOf;
    /// <summary>The last saved list, never changed in place: replaced whole under <see cref="_writing"/>.</summary>
    private volatile Dictionary<string, T> _items;
    private string? _loaded;

    /// <param name="path">The file (<c>&lt;dataDirectory&gt;/&lt;kind&gt;.json</c>); none yet means no definitions.</param>
    /// <param name="what">What one entry is, for errors: "function", "service".</param>
    /// <param name="keyOf">An entry's name.</param>
    public DefinitionFile(string path, string what, Func<T, string> keyOf)
        : this(new FileDefinitionStore(Path.GetDirectoryName(Path.GetFullPath(path))!), Path.GetFileNameWithoutExtension(path), what, keyOf)
    {
    }

    /// <param name="store">Where the list is kept.</param>
    /// <param name="kind">Which list: <c>functions</c>, <c>services</c>, ... (the file's name without <c>.json</c>); none kept yet means no definitions.</param>
    /// <param name="what">What one entry is, for errors: "function", "service".</param>
    /// <param name="keyOf">An entry's name.</param>
    public DefinitionFile(IDefinitionStore store, string kind, string what, Func<T, string> keyOf)
    {
        _store = store;
        _kind = kind;
        _what = what;
        _keyOf = keyOf;
        (_items, _loaded) = Read();
    }

    /// <summary>
    /// Reads the list again from the store, when another aggregator on the same store may have changed it (a follower
    /// on PostgreSQL, whose leader takes the API's changes). True when it differs from what was held.
    /// </summary>
    /// <exception cref="InvalidDataException">The kept list is not valid; what was held is kept.</exception>
    public bool Reload()
    {
        lock (_writing)
        {
            var (items, loaded) = Read();
            if (string.Equals(loaded, _loaded, StringComparison.Ordinal))
            {
                return false;
            }

            (_items, _loaded) = (items, loaded);
            return true;
        }
    }

    private (Dictionary<string, T> Items, string? Json) Read()
    {
        var path = _store.DescribeDefinitions(_kind);
        var json = _store.LoadDefinitions(_kind);
        List<T> items;
        try
        {
            items = json is not null ? JsonSerializer.Deserialize<List<T>>(json, Json) ?? [] : [];
        }
        catch (JsonException ex)
        {
            // Never start with some definitions silently dropped: the operator repairs or removes the file.
            throw new InvalidDataException($"'{path}' is not a valid list of {_what} definitions ({ex.Message}); repair it or remove it to start with none.", ex);
        }

        if (items.GroupBy(_keyOf, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidDataException($"'{path}' defines {_what} '{twice.Key}' twice; repair it or remove it to start with none.");
        }

        return (items.ToDictionary(_keyOf, StringComparer.Ordinal), json);
    }

    /// <summary>Every entry, by name.</summary>
    public IReadOnlyList<T> All => _items.Values.OrderBy(_keyOf, StringComparer.Ordinal).ToArray();

    public T? Find(string name) => _items.GetValueOrDefault(name);

    /// <summary>
    /// Replaces the entry named <paramref name="name"/> by what <paramref name="change"/> makes of it
    /// (given null when there is none; returning null removes it), saved before it is visible. Nothing
    /// is written when there was none and none is made. Returns the entry as it was.
    /// </summary>
    public T? Change(string name, Func<T?, T?> change)
    {
        lock (_writing)
        {
            var current = _items.GetValueOrDefault(name);
            var updated = change(current);
            if (current is null && updated is null)
            {
                return null;
            }

            var next = new Dictionary<string, T>(_items, StringComparer.Ordinal);
            if (updated is null)
            {
                next.Remove(name);
            }
            else
            {
                next[name] = updated;
            }

            Save(next.Values.OrderBy(_keyOf, StringComparer.Ordinal).ToArray());
            _items = next;
            return current;
        }
    }

    private void Save(T[] items)
    {
        var json = JsonSerializer.Serialize(items, Json);
        _store.SaveDefinitions(_kind, json);
        _loaded = json;
    }
}
