using Drover.Aggregator.Configuration;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Services;

/// <summary>
/// The services and their sets, kept in <c>&lt;dataDirectory&gt;/services.json</c> (written atomically)
/// so a rollout in progress survives an aggregator restart.
/// </summary>
internal sealed class ServiceRegistry
{
    private readonly Lock _gate = new();
    private readonly string _path;
    private Dictionary<string, ServiceState> _services;

    public ServiceRegistry(AggregatorOptions options)
    {
        _path = Path.Combine(options.DataDirectory, "services.json");
        var services = JsonFile.ReadList<ServiceState>(_path, "services");
        if (services.GroupBy(s => s.Definition.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidDataException($"'{_path}' defines service '{twice.Key}' twice; repair it or remove it to start with none.");
        }

        _services = services.ToDictionary(s => s.Definition.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<ServiceState> All
    {
        get
        {
            lock (_gate)
            {
                return _services.Values.OrderBy(s => s.Definition.Name, StringComparer.Ordinal).ToArray();
            }
        }
    }

    public ServiceState? Find(string name)
    {
        lock (_gate)
        {
            return _services.GetValueOrDefault(name);
        }
    }

    /// <summary>Sets the definition asked for (validated), keeping the sets; true when the service is new.</summary>
    public bool Put(ServiceDefinition definition)
    {
        lock (_gate)
        {
            var created = !_services.TryGetValue(definition.Name, out var state);
            var next = (state ?? new ServiceState()) with { Definition = definition };

            // A change that keeps the version (an instance count, a routing field) applies to its set in place.
            next = next with { Sets = next.Sets.Select(s => s.Version == definition.Version ? definition : s).ToArray() };
            Replace(definition.Name, next);
            return created;
        }
    }

    /// <summary>Changes a service's state (the rollout's steps); nothing when the service is gone.</summary>
    public void Update(string name, Func<ServiceState, ServiceState> change)
    {
        lock (_gate)
        {
            if (_services.TryGetValue(name, out var state))
            {
                Replace(name, change(state));
            }
        }
    }

    public bool Delete(string name)
    {
        lock (_gate)
        {
            if (!_services.ContainsKey(name))
            {
                return false;
            }

            Replace(name, null);
            return true;
        }
    }

    private void Replace(string name, ServiceState? state)
    {
        var next = new Dictionary<string, ServiceState>(_services, StringComparer.Ordinal);
        if (state is null)
        {
            next.Remove(name);
        }
        else
        {
            next[name] = state;
        }

        JsonFile.Write(_path, next.Values.OrderBy(s => s.Definition.Name, StringComparer.Ordinal).ToArray());
        _services = next;
    }
}
