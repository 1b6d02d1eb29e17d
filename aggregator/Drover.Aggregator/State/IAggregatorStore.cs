namespace Drover.Aggregator.State;

/// <summary>
/// The aggregator's one store: everything that must outlive the process, behind one interface with two
/// implementations, chosen by the <c>store</c> key (<see cref="StateStores"/>): <see cref="SqliteStateStore"/>
/// (<c>state.db</c> in the data directory, the default, one aggregator) and <see cref="PostgresStateStore"/> (a
/// database several aggregators can share). Both keep the same things with the same promises, which one contract
/// test suite checks against each: committed state with its versions (<see cref="IStateStore"/>), the instance
/// assignments with their fencing epochs and the pending stops (<see cref="IAssignmentStore"/>), and the decision
/// passes' memory with the event channels' sequence numbers (<see cref="IDecisionMemoryStore"/>), and the definitions
/// the API changes (functions, services, balancers, cluster and node overrides, invocation keys:
/// <see cref="IDefinitionStore"/>; SQLite's store keeps these in the data directory's JSON files, as before). Each
/// opens its schema at construction, migrating it (a <c>schema_version</c> table) when it is older.
/// </summary>
/// <remarks>
/// Leader election (issue 21, part 2) adds its term here: every write a leader makes can then be fenced by the term it
/// was elected in.
/// </remarks>
internal interface IAggregatorStore : IStateStore, IAssignmentStore, IDecisionMemoryStore, IDefinitionStore, IDisposable
{
    /// <summary>Where the store is, without credentials (a file path, <c>postgres://host:port/database</c>): what logs and errors name.</summary>
    string Description { get; }
}
