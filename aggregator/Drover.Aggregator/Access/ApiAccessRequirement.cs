using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Drover.Aggregator.Access;

/// <summary>
/// The management API's one rule, decided by the request's method so that no endpoint can forget it:
/// GET, HEAD and OPTIONS need a <c>read</c> or <c>admin</c> token, every other method <c>admin</c>.
/// </summary>
internal sealed class ApiAccessRequirement : AuthorizationHandler<ApiAccessRequirement>, IAuthorizationRequirement
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ApiAccessRequirement requirement)
    {
        if (context.Resource is HttpContext http
            && context.User.Identity?.IsAuthenticated == true
            && context.User.FindFirstValue(ClaimTypes.Role) is { } role
            && ApiRoles.Allows(role, http.Request.Method))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
