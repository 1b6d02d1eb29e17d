namespace Drover.Aggregator.Access;

/// <summary>The two roles an API token carries: <c>read</c> may only read, <c>admin</c> may also change.</summary>
internal static class ApiRoles
{
    public const string Read = "read";
    public const string Admin = "admin";

    /// <summary>What a refusal of an unknown role says is accepted.</summary>
    public const string Accepted = "'read' or 'admin'";

    public static bool IsRole(string? value) => value is Read or Admin;

    /// <summary>Whether <paramref name="method"/> only reads (GET, HEAD, OPTIONS): anything else changes and needs <see cref="Admin"/>.</summary>
    public static bool OnlyReads(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    /// <summary>Whether a token of <paramref name="role"/> may send a request with <paramref name="method"/>.</summary>
    public static bool Allows(string role, string method) => role == Admin || (role == Read && OnlyReads(method));
}
