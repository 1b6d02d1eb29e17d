using System.Text.Json;
using Drover.Aggregator.Configuration;

namespace Drover.Aggregator.Functions;

/// <summary>
/// The function definitions, kept in <c>&lt;dataDirectory&gt;/functions.json</c> (written atomically) so
/// they survive an aggregator restart.
/// </summary>
internal sealed class FunctionRegistry
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly Lock _gate = new();
    private readonly string _path;
    private Dictionary<string, FunctionDefinition> _functions;

    public FunctionRegistry(AggregatorOptions options)
    {
        _path = Path.Combine(options.DataDirectory, "functions.json");
        try
        {
            _functions = File.Exists(_path)
                ? (JsonSerializer.Deserialize<List<FunctionDefinition>>(File.ReadAllText(_path), Json) ?? []).ToDictionary(f => f.Name, StringComparer.Ordinal)
                : new Dictionary<string, FunctionDefinition>(StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            // Never start with some definitions silently dropped: the operator repairs or removes the file.
            throw new InvalidDataException($"'{_path}' is not a valid list of function definitions ({ex.Message}); repair it or remove it to start with none.", ex);
        }
    }

    public IReadOnlyList<FunctionDefinition> All
    {
        get
        {
            lock (_gate)
            {
                return _functions.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
            }
        }
    }

    public FunctionDefinition? Find(string name)
    {
        lock (_gate)
        {
            return _functions.GetValueOrDefault(name);
        }
    }

    /// <summary>Creates or replaces a (validated) definition; true when it is new.</summary>
    public bool Put(FunctionDefinition definition)
    {
        lock (_gate)
        {
            var next = new Dictionary<string, FunctionDefinition>(_functions, StringComparer.Ordinal) { [definition.Name] = definition };
            Save(next);
            var created = !_functions.ContainsKey(definition.Name);
            _functions = next;
            return created;
        }
    }

    public bool Delete(string name)
    {
        lock (_gate)
        {
            if (!_functions.ContainsKey(name))
            {
                return false;
            }

            var next = new Dictionary<string, FunctionDefinition>(_functions, StringComparer.Ordinal);
            next.Remove(name);
            Save(next);
            _functions = next;
            return true;
        }
    }

    private void Save(Dictionary<string, FunctionDefinition> functions)
    {
        var temporary = _path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, functions.Values.OrderBy(f => f.Name, StringComparer.Ordinal), Json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, _path, overwrite: true);
    }
}
