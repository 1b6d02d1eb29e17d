namespace Drover.Aggregator.Access;

/// <summary>One entry of the tokens file: a name for the logs, a role, and the SHA-256 of the token (never the token).</summary>
/// <param name="Name">Who or what holds the token: 1-63 characters of a-z 0-9 -, unique in the file.</param>
/// <param name="Role"><see cref="ApiRoles.Read"/> or <see cref="ApiRoles.Admin"/>.</param>
/// <param name="Sha256">The SHA-256 of the token's UTF-8 bytes, 64 lowercase hexadecimal digits.</param>
internal sealed record ApiToken(string Name, string Role, string Sha256);
