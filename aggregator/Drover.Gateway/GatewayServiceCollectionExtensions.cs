using Drover.Gateway;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the gateway.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway: YARP with the gateway's configuration provider, load-balancing policy and
    /// response headers, the <see cref="GatewayRoutingTable"/> to feed and the <see cref="GatewayLoad"/>
    /// to read. Safe to call more than once; what is already registered is kept.
    /// </summary>
    public static IServiceCollection AddDroverGateway(this IServiceCollection services, Action<GatewayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(GatewayMarker)))
        {
            return services;
        }

        services.AddSingleton<GatewayMarker>();
        services.TryAddSingleton<GatewayRoutingTable>();
        services.TryAddSingleton<GatewayLoad>();
        services.TryAddSingleton(GatewayRandom.Shared);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GatewayEjections>();
        services.AddOptions<GatewayOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigProvider, GatewayProxyConfigProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingPolicy, DroverLoadBalancingPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransformProvider, GatewayTransformProvider>());
        services.AddReverseProxy();
        return services;
    }

    /// <summary>Marks the gateway as registered.</summary>
    private sealed class GatewayMarker;

    private sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
    {
        public ValidateOptionsResult Validate(string? name, GatewayOptions options)
            => options.Validate() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
    }
}
