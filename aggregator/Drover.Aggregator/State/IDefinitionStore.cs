namespace Drover.Aggregator.State;

/// <summary>
/// The definitions the HTTP API changes at run time, each kind kept whole as one JSON list (<see cref="Workloads.DefinitionFile{T}"/>
/// reads and writes it): <c>functions</c>, <c>services</c>, <c>balancers</c>, <c>clusters</c>, <c>cluster-groups</c>,
/// <c>nodes</c> (overrides) and <c>invocation-keys</c>. SQLite's store keeps them as before, in
/// <c>&lt;dataDirectory&gt;/&lt;kind&gt;.json</c> (<see cref="FileDefinitionStore"/>), so existing data directories and
/// their hand edits keep working; PostgreSQL's keeps them in its <c>definitions</c> table, so that every aggregator on
/// the database reads the same.
/// </summary>
/// <remarks>
/// A kind is rewritten whole by each change, as its file always was: a kind holds tens to thousands of small entries,
/// and one write per change keeps a change atomic without a schema per kind.
/// </remarks>
internal interface IDefinitionStore
{
    /// <summary>The JSON list kept for <paramref name="kind"/>, or null when none is kept.</summary>
    string? LoadDefinitions(string kind);

    /// <summary>
    /// Replaces the list kept for <paramref name="kind"/>, durably, before it returns. Throws when the store failed
    /// (a full disk, an unreachable database); the kept list is then unchanged.
    /// </summary>
    void SaveDefinitions(string kind, string json);

    /// <summary>Where <paramref name="kind"/> is kept, for errors: a file path, or the database and kind.</summary>
    string DescribeDefinitions(string kind);
}
