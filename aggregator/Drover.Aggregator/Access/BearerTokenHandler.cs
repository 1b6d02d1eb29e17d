using System.Security.Claims;
using System.Text.Encodings.Web;
using Drover.Aggregator.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Drover.Aggregator.Access;

/// <summary>
/// Authenticates a management API request by its <c>Authorization: Bearer &lt;token&gt;</c> against the
/// hashes of the tokens file, and answers a refusal as a problem: 401 with <c>WWW-Authenticate: Bearer</c>
/// (no token, an unknown one, or no tokens configured), 403 (a <c>read</c> token on a write). Each
/// refusal is logged naming its cause and the token's name when known, never the token.
/// </summary>
internal sealed partial class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiTokenStore tokens,
    AggregatorOptions aggregator)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    /// <summary>The claim type of the token's name (also the identity's name).</summary>
    public const string TokenNameClaim = ClaimTypes.Name;

    /// <summary>The identity every request gets with <c>insecureApi: true</c>.</summary>
    public const string InsecureName = "insecure-api";

    private const string BearerPrefix = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (aggregator.InsecureApi)
        {
            return Task.FromResult(Success(InsecureName, ApiRoles.Admin));
        }

        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("the Authorization header is not 'Bearer <token>'"));
        }

        var presented = header[BearerPrefix.Length..].Trim();
        if (tokens.Find(presented) is not { } token)
        {
            return Task.FromResult(AuthenticateResult.Fail(
                tokens.Count == 0 ? "no API tokens are configured (apiTokensFile), so no token is known" : "the bearer token is not one of the configured tokens"));
        }

        return Task.FromResult(Success(token.Name, token.Role));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var presented = result.Failure is not null;
        var cause = result.Failure?.Message
            ?? (tokens.Count == 0 ? "no bearer token, and no API tokens are configured (apiTokensFile)" : "no bearer token");
        Log.Unauthenticated(Logger, Request.Method, Request.Path.Value ?? "", Peer, cause);

        // RFC 6750 section 3: a request without credentials gets the bare challenge; one with a bad token, error="invalid_token".
        Response.Headers[HeaderNames.WWWAuthenticate] = presented ? "Bearer realm=\"drover\", error=\"invalid_token\"" : "Bearer realm=\"drover\"";
        await Results.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Unauthorized",
            detail: $"The management API needs 'Authorization: Bearer <token>' with a token of role 'read' (GET) or 'admin' (any method): {cause}.")
            .ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var name = Context.User.Identity?.Name ?? "";
        var role = Context.User.FindFirstValue(ClaimTypes.Role) ?? "";
        Log.Forbidden(Logger, Request.Method, Request.Path.Value ?? "", Peer, name, role);
        await Results.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "Forbidden",
            detail: $"Token '{name}' has role '{role}'; {Request.Method} needs role '{ApiRoles.Admin}'.")
            .ExecuteAsync(Context);
    }

    private string Peer => Context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private AuthenticateResult Success(string name, string role)
    {
        var identity = new ClaimsIdentity([new Claim(TokenNameClaim, name), new Claim(ClaimTypes.Role, role)], Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, EventName = "ApiUnauthenticated", Level = LogLevel.Warning,
            Message = "{Method} '{Path}' from '{Peer}' was refused 401: {Cause}.")]
        public static partial void Unauthenticated(ILogger logger, string method, string path, string peer, string cause);

        [LoggerMessage(EventId = 1502, EventName = "ApiForbidden", Level = LogLevel.Warning,
            Message = "{Method} '{Path}' from '{Peer}' was refused 403: token '{TokenName}' has role '{Role}', and only 'admin' may change anything.")]
        public static partial void Forbidden(ILogger logger, string method, string path, string peer, string tokenName, string role);
    }
}
