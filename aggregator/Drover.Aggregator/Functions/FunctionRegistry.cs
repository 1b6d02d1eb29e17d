using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Functions;

/// <summary>
/// The function definitions, kept in the store (<see cref="IDefinitionStore"/>: <c>&lt;dataDirectory&gt;/functions.json</c>,
/// written atomically, with SQLite) so they survive an aggregator restart.
/// </summary>
internal sealed class FunctionRegistry
{
    private readonly DefinitionFile<FunctionDefinition> _file;

    public FunctionRegistry(AggregatorOptions options)
        : this(new FileDefinitionStore(options.DataDirectory))
    {
    }

    /// <summary>The definitions kept in <paramref name="store"/> (the aggregator's store, <c>functions</c>).</summary>
    public FunctionRegistry(IDefinitionStore store)
        => _file = new DefinitionFile<FunctionDefinition>(store, "functions", "function", f => f.Name);

    public IReadOnlyList<FunctionDefinition> All => _file.All;

    public FunctionDefinition? Find(string name) => _file.Find(name);

    /// <summary>Creates or replaces a (validated) definition; true when it is new.</summary>
    public bool Put(FunctionDefinition definition) => _file.Change(definition.Name, _ => definition) is null;

    public bool Delete(string name) => _file.Change(name, _ => null) is not null;

    /// <summary>Reads the definitions again from the store (<see cref="DefinitionFile{T}.Reload"/>); true when they changed.</summary>
    public bool Reload() => _file.Reload();
}
