using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Protocol.Security;

namespace Drover.Aggregator.Access;

/// <summary>
/// The functions' and services' invocation keys (<c>/v1/keys</c>), kept as SHA-256 hashes in
/// <c>&lt;dataDirectory&gt;/invocation-keys.json</c> (0600, written atomically before a change is
/// visible): a key itself is shown once, when it is made. The gateway checks invocations against them,
/// and the hashes go to the nodes in their instances' specs, so a shim checks a direct caller the same way.
/// </summary>
internal sealed class InvocationKeyStore
{
    /// <summary>The most keys one function or service may have (a ShimSpec carries every hash).</summary>
    public const int MaxPerWorkload = Drover.Protocol.Specs.SpecLimits.MaxInvocationKeys;

    private readonly DefinitionFile<InvocationKey> _file;

    // The hashes by workload, ordered: read by every gateway request, so made once per change.
    private volatile Dictionary<WorkloadRef, string[]> _hashes = [];

    public InvocationKeyStore(AggregatorOptions options)
        : this(new FileDefinitionStore(options.DataDirectory))
    {
    }

    /// <summary>The keys' records kept in <paramref name="store"/> (the aggregator's store, <c>invocation-keys</c>).</summary>
    public InvocationKeyStore(IDefinitionStore store)
    {
        _file = new DefinitionFile<InvocationKey>(store, "invocation-keys", "invocation key", k => k.Id);
        Index();
    }

    /// <summary>Raised after a key is made or removed: the specs the nodes hold must follow.</summary>
    public event Action? Changed;

    /// <summary>Every key's record (never the key), or those of one workload.</summary>
    public IReadOnlyList<InvocationKey> List(WorkloadRef? of = null)
        => of is null ? _file.All : _file.All.Where(k => k.Workload == of).ToArray();

    /// <summary>The hashes of <paramref name="of"/>'s keys, ordered so that the specs made from them compare equal.</summary>
    public IReadOnlyList<string> HashesOf(WorkloadRef of) => _hashes.GetValueOrDefault(of) ?? [];

    /// <summary>Makes a key for <paramref name="of"/>: its record and the key itself; null when it has <see cref="MaxPerWorkload"/> already.</summary>
    public (InvocationKey Record, string Key)? Create(WorkloadRef of, DateTimeOffset now)
    {
        var key = InvocationKeys.NewKey();
        var record = new InvocationKey("key-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), of.Function, of.Service, InvocationKeys.HashOf(key), now);
        var full = false;
        _file.Change(record.Id, _ =>
        {
            // Counted under the file's lock, so two requests at once cannot pass the bound together.
            full = _file.All.Count(k => k.Workload == of) >= MaxPerWorkload;
            return full ? null : record;
        });
        if (full)
        {
            return null;
        }

        Index();
        Changed?.Invoke();
        return (record, key);
    }

    /// <summary>Removes the key <paramref name="id"/>; false when there is none.</summary>
    public bool Delete(string id)
    {
        var removed = _file.Change(id, _ => null) is not null;
        if (removed)
        {
            Index();
            Changed?.Invoke();
        }

        return removed;
    }

    /// <summary>Removes every key of <paramref name="of"/> (it was deleted): a new workload of that name starts with none.</summary>
    public void DeleteAll(WorkloadRef of)
    {
        foreach (var key in List(of))
        {
            _file.Change(key.Id, _ => null);
        }

        Index();
    }

    /// <summary>Reads the keys' records again from the store (<see cref="DefinitionFile{T}.Reload"/>); true when they changed.</summary>
    public bool Reload()
    {
        if (!_file.Reload())
        {
            return false;
        }

        Index();
        return true;
    }

    private void Index()
        => _hashes = _file.All.GroupBy(k => k.Workload).ToDictionary(g => g.Key, g => g.Select(k => k.Sha256).Order(StringComparer.Ordinal).ToArray());
}

/// <summary>A function or a service, by name: exactly one of the two is set.</summary>
internal sealed record WorkloadRef(string? Function, string? Service)
{
    public static WorkloadRef OfFunction(string name) => new(name, null);

    public static WorkloadRef OfService(string name) => new(null, name);

    public override string ToString() => Function is not null ? $"function '{Function}'" : $"service '{Service}'";
}

/// <summary>One invocation key as kept: its id, its workload, the SHA-256 of the key, when it was made.</summary>
internal sealed record InvocationKey(string Id, string? Function, string? Service, string Sha256, DateTimeOffset Created)
{
    [JsonIgnore]
    public WorkloadRef Workload => new(Function, Service);
}
