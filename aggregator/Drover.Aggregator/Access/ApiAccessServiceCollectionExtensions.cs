using Drover.Aggregator.Access;
using Microsoft.AspNetCore.Authentication;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the management API's bearer-token authentication and its one authorization policy.</summary>
internal static class ApiAccessServiceCollectionExtensions
{
    /// <summary>The authentication scheme of API tokens.</summary>
    public const string Scheme = "DroverBearer";

    /// <summary>The policy every management endpoint requires (<see cref="ApiAccessRequirement"/>).</summary>
    public const string Policy = "drover-management-api";

    /// <summary>
    /// No default scheme: only endpoints that require <see cref="Policy"/> are authenticated, so the
    /// gateway's requests (whose Authorization header belongs to the function) and the agent link are
    /// never looked at.
    /// </summary>
    public static IServiceCollection AddDroverApiAccess(this IServiceCollection services, ApiTokenStore tokens)
    {
        services.AddSingleton(tokens);
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(Scheme, configureOptions: null);
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy
            .AddAuthenticationSchemes(Scheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new ApiAccessRequirement()));
        return services;
    }
}
