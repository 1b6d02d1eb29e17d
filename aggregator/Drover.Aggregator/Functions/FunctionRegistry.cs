using Drover.Aggregator.Configuration;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Functions;

/// <summary>
/// The function definitions, kept in <c>&lt;dataDirectory&gt;/functions.json</c> (written atomically) so
/// they survive an aggregator restart.
/// </summary>
internal sealed class FunctionRegistry
{
    private readonly Lock _gate = new();
    private readonly string _path;
    private Dictionary<string, FunctionDefinition> _functions;

    public FunctionRegistry(AggregatorOptions options)
    {
        _path = Path.Combine(options.DataDirectory, "functions.json");
        var functions = JsonFile.ReadList<FunctionDefinition>(_path, "function definitions");
        if (functions.GroupBy(f => f.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidDataException($"'{_path}' defines function '{twice.Key}' twice; repair it or remove it to start with none.");
        }

        _functions = functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
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
        => JsonFile.Write(_path, functions.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToArray());
}
