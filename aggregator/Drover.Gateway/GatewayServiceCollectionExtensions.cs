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

    /// <summary>
    /// Adds the gateway with <paramref name="options"/> itself as its settings (a host that has read
    /// its own configuration), so a setting added to <see cref="GatewayOptions"/> reaches the gateway
    /// without a copy to keep up to date. The instance is validated at start like bound settings.
    /// </summary>
    public static IServiceCollection AddDroverGateway(this IServiceCollection services, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton<IOptionsFactory<GatewayOptions>>(sp => new InstanceOptionsFactory(
            options,
            sp.GetServices<IConfigureOptions<GatewayOptions>>(),
            sp.GetServices<IPostConfigureOptions<GatewayOptions>>(),
            sp.GetServices<IValidateOptions<GatewayOptions>>()));
        return services.AddDroverGateway();
    }

    /// <summary>Marks the gateway as registered.</summary>
    private sealed class GatewayMarker;

    private sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
    {
        public ValidateOptionsResult Validate(string? name, GatewayOptions options)
            => options.Validate() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
    }

    /// <summary>
    /// The options pipeline (configure, post-configure, validate) run on the host's own instance rather
    /// than a new one, so <c>IOptions</c>, <c>IOptionsMonitor</c> and <c>ValidateOnStart</c> all see it.
    /// </summary>
    private sealed class InstanceOptionsFactory(
        GatewayOptions instance,
        IEnumerable<IConfigureOptions<GatewayOptions>> setups,
        IEnumerable<IPostConfigureOptions<GatewayOptions>> postConfigures,
        IEnumerable<IValidateOptions<GatewayOptions>> validations)
        : OptionsFactory<GatewayOptions>(setups, postConfigures, validations)
    {
        protected override GatewayOptions CreateInstance(string name)
            => name == Microsoft.Extensions.Options.Options.DefaultName ? instance : base.CreateInstance(name);
    }
}
