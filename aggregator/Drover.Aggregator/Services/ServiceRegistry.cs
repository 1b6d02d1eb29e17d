using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Services;

/// <summary>
/// The services and their sets, kept in the store (<c>&lt;dataDirectory&gt;/services.json</c>, written atomically, with SQLite)
/// so a rollout in progress survives an aggregator restart.
/// </summary>
internal sealed class ServiceRegistry
{
    private readonly DefinitionFile<ServiceState> _file;

    public ServiceRegistry(AggregatorOptions options)
        : this(new FileDefinitionStore(options.DataDirectory))
    {
    }

    /// <summary>The services kept in <paramref name="store"/> (the aggregator's store, <c>services</c>).</summary>
    public ServiceRegistry(IDefinitionStore store)
        => _file = new DefinitionFile<ServiceState>(store, "services", "service", s => s.Definition.Name);

    public IReadOnlyList<ServiceState> All => _file.All;

    public ServiceState? Find(string name) => _file.Find(name);

    /// <summary>Reads the definitions again from the store (<see cref="DefinitionFile{T}.Reload"/>); true when they changed.</summary>
    public bool Reload() => _file.Reload();

    /// <summary>Sets the definition asked for (validated), keeping the sets; true when the service is new.</summary>
    /// <remarks>A change that keeps the version (an instance count, a routing field) applies to its set in place.</remarks>
    public bool Put(ServiceDefinition definition)
        => _file.Change(definition.Name, state => (state ?? new ServiceState()) with
        {
            Definition = definition,
            Sets = (state?.Sets ?? []).Select(s => s.Version == definition.Version ? definition : s).ToArray(),
        }) is null;

    /// <summary>Changes a service's state (the rollout's steps); nothing when the service is gone.</summary>
    public void Update(string name, Func<ServiceState, ServiceState> change)
        => _file.Change(name, state => state is null ? null : change(state));

    public bool Delete(string name) => _file.Change(name, _ => null) is not null;
}
