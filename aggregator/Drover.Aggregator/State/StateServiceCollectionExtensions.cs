using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Drover.Aggregator.State;

/// <summary>Registers the persistent state storage.</summary>
internal static class StateServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="IStateStore"/> the registered <see cref="AggregatorOptions.Store"/> names (SQLite's
    /// <c>state.db</c> in <paramref name="dataDirectory"/> by default, or the PostgreSQL database of
    /// <see cref="AggregatorOptions.PostgresConnectionStringFile"/>), the
    /// <see cref="SnapshotAssembler"/> (256 MiB, 64 uploads, 60 s idle), the
    /// <see cref="SnapshotUploadPruner"/> and the <see cref="StatePruner"/>, and the store as the
    /// <see cref="IAssignmentStore"/> the <see cref="InstanceTable"/> keeps its assignments in, and as the
    /// <see cref="IDecisionMemoryStore"/> the decision passes keep their memory in, and as the <see cref="IDefinitionStore"/>
    /// the registries keep the definitions in. The versions kept, the
    /// per-node upload limits and the grace of forgotten instances' state come from the registered
    /// <see cref="AggregatorOptions"/> (their defaults when none is). Needs a <see cref="TimeProvider"/>
    /// and an <see cref="InstanceTable"/> registered. The store opens when the pruner is created at host
    /// start, so a bad <c>state.db</c>, or a database that cannot be reached, stops start-up. Uploads in progress are
    /// assembled in <paramref name="dataDirectory"/> whichever store keeps the commits.
    /// </summary>
    public static IServiceCollection AddStateStorage(this IServiceCollection services, string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        services.TryAddSingleton<IAggregatorStore>(sp => StateStores.Parse(OptionsOf(sp).Store) == StateStores.Postgres
            ? new PostgresStateStore(
                StateStores.ReadPostgresConnectionString(OptionsOf(sp)),
                sp.GetRequiredService<ILogger<PostgresStateStore>>(),
                OptionsOf(sp).StateVersionsKept)
            : new SqliteStateStore(
                dataDirectory,
                sp.GetRequiredService<ILogger<SqliteStateStore>>(),
                OptionsOf(sp).StateVersionsKept));
        services.TryAddSingleton<IStateStore>(sp => sp.GetRequiredService<IAggregatorStore>());
        services.TryAddSingleton<IDefinitionStore>(sp => sp.GetRequiredService<IAggregatorStore>());
        services.TryAddSingleton(sp => new SnapshotAssembler(
            sp.GetRequiredService<IStateStore>(),
            dataDirectory,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SnapshotAssembler>>(),
            maxUploadsPerNode: OptionsOf(sp).UploadsPerNode,
            maxUploadBytesPerNode: OptionsOf(sp).UploadBytesPerNode,
            currentEpoch: sp.GetRequiredService<InstanceTable>().Epoch));
        services.TryAddSingleton<IAssignmentStore>(sp => sp.GetRequiredService<IStateStore>() as IAssignmentStore
            ?? throw new InvalidOperationException("the registered state store does not keep assignments (IAssignmentStore)"));
        services.TryAddSingleton<IDecisionMemoryStore>(sp => sp.GetRequiredService<IStateStore>() as IDecisionMemoryStore
            ?? throw new InvalidOperationException("the registered state store does not keep the decision memory (IDecisionMemoryStore)"));
        services.AddHostedService<SnapshotUploadPruner>();
        services.AddHostedService(sp => new StatePruner(
            sp.GetRequiredService<IStateStore>(),
            sp.GetRequiredService<InstanceTable>(),
            sp.GetRequiredService<TimeProvider>(),
            OptionsOf(sp),
            sp.GetRequiredService<ILogger<StatePruner>>()));
        return services;
    }

    private static AggregatorOptions OptionsOf(IServiceProvider services) => services.GetService<AggregatorOptions>() ?? new AggregatorOptions();
}
