using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Drover.Agent.Shims;

/// <summary>Registers the node's shim: its server, workloads, routing tables, health checks and stats.</summary>
internal static class ShimServiceCollectionExtensions
{
    public static IServiceCollection AddShims(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.TryAddSingleton<ShimWorkloads>();
        services.TryAddSingleton<ServiceRouteTables>();
        services.TryAddSingleton<ServiceRouter>();
        services.TryAddSingleton<ShimCredential>();
        services.TryAddSingleton<ShimForwarder>();
        services.TryAddSingleton(_ => new StdioInvoker());
        services.TryAddSingleton<ShimRequestHandler>();
        services.TryAddSingleton<ShimServer>();
        services.TryAddSingleton<InstanceHealthChecks>();
        services.TryAddSingleton<ShimStatsService>();
        return services;
    }

    /// <summary>The shim's hosted services, started after the instances are found again (see AgentHost).</summary>
    public static IServiceCollection AddShimHostedServices(this IServiceCollection services)
    {
        services.AddHostedService(sp => sp.GetRequiredService<ShimServer>());
        services.AddHostedService(sp => sp.GetRequiredService<InstanceHealthChecks>());
        services.AddHostedService(sp => sp.GetRequiredService<ShimStatsService>());
        return services;
    }
}
