using System.Security.Cryptography;
using System.Text;

namespace Drover.Protocol.Security;

/// <summary>
/// Who may invoke a function or service, decided the same way by the gateway and by a node's shim:
/// anyone when the workload is <c>public</c>; otherwise a caller presenting one of its keys
/// (<see cref="Http.DroverHeaders.ApiKey"/>), compared by SHA-256, since only the hashes are kept
/// and sent to the nodes.
/// </summary>
public static class InvocationKeys
{
    /// <summary>What a key starts with, so a leaked one is recognisable (secret scanners, logs).</summary>
    public const string Prefix = "drk_";

    /// <summary>A new key: the prefix and 32 random bytes, base64url (256 bits of entropy).</summary>
    public static string NewKey() => Prefix + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>The SHA-256 of <paramref name="secret"/>'s UTF-8 bytes in lowercase hexadecimal: how keys and API tokens are kept.</summary>
    public static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Whether <paramref name="hash"/> is what <see cref="HashOf"/> gives: 64 lowercase hexadecimal digits.</summary>
    public static bool IsHash(string? hash) => hash is { Length: 64 } && !hash.AsSpan().ContainsAnyExcept("0123456789abcdef");

    /// <summary>
    /// Whether a call presenting <paramref name="presented"/> (null or empty: none) may invoke a workload
    /// that is <paramref name="isPublic"/> with keys hashed as <paramref name="hashes"/>.
    /// </summary>
    public static InvocationVerdict Check(bool isPublic, IEnumerable<string> hashes, string? presented)
    {
        if (isPublic)
        {
            return InvocationVerdict.Allowed;
        }

        if (string.IsNullOrEmpty(presented))
        {
            return InvocationVerdict.NoKey;
        }

        var hash = Encoding.ASCII.GetBytes(HashOf(presented));
        var match = false;
        foreach (var known in hashes)
        {
            // Every hash is compared in full, so the time taken says nothing about which one came close.
            match |= CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(known));
        }

        return match ? InvocationVerdict.Allowed : InvocationVerdict.WrongKey;
    }

    /// <summary>The status and detail a refusal answers with: the same whether or not the workload exists.</summary>
    public static (int Status, string Detail) Refusal(InvocationVerdict verdict, string kind) => verdict switch
    {
        InvocationVerdict.NoKey => (401, $"this {kind} needs a key in {Http.DroverHeaders.ApiKey} (or is not defined)"),
        _ => (403, $"the key in {Http.DroverHeaders.ApiKey} is not one of this {kind}'s keys (or it is not defined)"),
    };
}

/// <summary>What <see cref="InvocationKeys.Check"/> decided.</summary>
public enum InvocationVerdict
{
    /// <summary>Public, or a key of the workload.</summary>
    Allowed,

    /// <summary>No key presented: 401.</summary>
    NoKey,

    /// <summary>A key that is not one of the workload's: 403.</summary>
    WrongKey,
}
