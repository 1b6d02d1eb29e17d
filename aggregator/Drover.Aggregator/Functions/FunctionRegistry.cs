using Drover.Aggregator.Configuration;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Functions;

/// <summary>
/// The function definitions, kept in <c>&lt;dataDirectory&gt;/functions.json</c> (written atomically) so
/// they survive an aggregator restart.
/// </summary>
internal sealed class FunctionRegistry
{
    private readonly DefinitionFile<FunctionDefinition> _file;

    public FunctionRegistry(AggregatorOptions options)
        => _file = new DefinitionFile<FunctionDefinition>(Path.Combine(options.DataDirectory, "functions.json"), "function", f => f.Name);

    public IReadOnlyList<FunctionDefinition> All => _file.All;

    public FunctionDefinition? Find(string name) => _file.Find(name);

    /// <summary>Creates or replaces a (validated) definition; true when it is new.</summary>
    public bool Put(FunctionDefinition definition) => _file.Change(definition.Name, _ => definition) is null;

    public bool Delete(string name) => _file.Change(name, _ => null) is not null;
}
