using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Balancers;

/// <summary>
/// The registered balancers, kept in the store (<c>&lt;dataDirectory&gt;/balancers.json</c>, written atomically, with SQLite) so they survive
/// an aggregator restart. <see cref="Changed"/> wakes the coordination.
/// </summary>
internal sealed class BalancerRegistry
{
    private readonly DefinitionFile<BalancerRegistration> _file;

    public BalancerRegistry(AggregatorOptions options)
        : this(new FileDefinitionStore(options.DataDirectory))
    {
    }

    /// <summary>The registrations kept in <paramref name="store"/> (the aggregator's store, <c>balancers</c>).</summary>
    public BalancerRegistry(IDefinitionStore store)
        => _file = new DefinitionFile<BalancerRegistration>(store, "balancers", "balancer", b => b.Name);

    /// <summary>Raised after a registration is added, replaced or removed.</summary>
    public event Action? Changed;

    public IReadOnlyList<BalancerRegistration> All => _file.All;

    public BalancerRegistration? Find(string name) => _file.Find(name);

    /// <summary>Creates or replaces a (validated) registration; true when it is new.</summary>
    public bool Put(BalancerRegistration registration)
    {
        var created = _file.Change(registration.Name, _ => registration) is null;
        Changed?.Invoke();
        return created;
    }

    public bool Delete(string name)
    {
        var deleted = _file.Change(name, _ => null) is not null;
        if (deleted)
        {
            Changed?.Invoke();
        }

        return deleted;
    }
}
