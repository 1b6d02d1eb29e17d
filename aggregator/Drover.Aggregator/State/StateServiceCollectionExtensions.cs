using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Drover.Aggregator.State;

/// <summary>Registers the persistent state storage.</summary>
internal static class StateServiceCollectionExtensions
{
    /// <summary>
    /// Adds the SQLite <see cref="IStateStore"/> in <paramref name="dataDirectory"/>, the
    /// <see cref="SnapshotAssembler"/> (defaults: 256 MiB, 64 uploads, 60 s idle) and the
    /// <see cref="SnapshotUploadPruner"/>. Needs a <see cref="TimeProvider"/> registered. The
    /// store opens when the pruner is created at host start, so a bad <c>state.db</c> stops start-up.
    /// </summary>
    public static IServiceCollection AddStateStorage(this IServiceCollection services, string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        services.TryAddSingleton<IStateStore>(sp => new SqliteStateStore(
            dataDirectory,
            sp.GetRequiredService<ILogger<SqliteStateStore>>()));
        services.TryAddSingleton(sp => new SnapshotAssembler(
            sp.GetRequiredService<IStateStore>(),
            dataDirectory,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SnapshotAssembler>>()));
        services.AddHostedService<SnapshotUploadPruner>();
        return services;
    }
}
