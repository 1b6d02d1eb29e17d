using Drover.Aggregator.Access;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Security;
using Drover.Aggregator.Services;
using Drover.Aggregator.State;
using Drover.Gateway;

namespace Drover.Aggregator.Workloads;

/// <summary>
/// What every aggregator's gateway serves from the store, the leading application and a follower
/// (<see cref="Leadership.FollowerHost"/>) alike: the function and service definitions, the invocation keys that guard
/// them, the shim credential the gateway presents to the nodes, and the gateway with its access check. Each is read from
/// the registered <see cref="IDefinitionStore"/> (the credential from the <see cref="IAggregatorStore"/>).
/// </summary>
internal static class DefinitionServices
{
    public static IServiceCollection AddDefinitionsAndGateway(this IServiceCollection services, AggregatorOptions options)
    {
        services.AddSingleton(sp => new ShimCredentialFile.Credential(ShimCredentialFile.For(options, sp.GetRequiredService<IAggregatorStore>())));
        services.AddSingleton(sp => new FunctionRegistry(sp.GetRequiredService<IDefinitionStore>()));
        services.AddSingleton(sp => new InvocationKeyStore(sp.GetRequiredService<IDefinitionStore>()));
        services.AddSingleton(sp => new ServiceRegistry(sp.GetRequiredService<IDefinitionStore>()));
        services.AddDroverGateway(options.Gateway);
        services.AddSingleton<IGatewayAccess, GatewayInvocationAccess>();
        return services;
    }
}
