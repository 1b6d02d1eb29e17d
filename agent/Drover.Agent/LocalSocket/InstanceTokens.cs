using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Drover.Agent.LocalSocket;

/// <summary>
/// The tokens of the instances this agent runs: one random secret per instance, issued when the
/// instance is started (and put in its environment) and revoked when it ends. Thread-safe.
/// </summary>
internal sealed class InstanceTokens : IInstanceAuthenticator
{
    /// <summary>Random bytes per token; the token is their lowercase hex, twice as many characters.</summary>
    public const int TokenBytes = 32;

    private readonly ConcurrentDictionary<string, byte[]> _tokens = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates a new token for <paramref name="instanceId"/>, replacing any earlier one. Tokens come
    /// from the operating system's CSPRNG, not from an injected Random: they are secrets.
    /// </summary>
    public string Issue(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var token = RandomNumberGenerator.GetHexString(TokenBytes * 2, lowercase: true);
        _tokens[instanceId] = Encoding.ASCII.GetBytes(token);
        return token;
    }

    /// <summary>
    /// Accepts <paramref name="token"/> again for <paramref name="instanceId"/>, replacing any other:
    /// for an instance that outlived an agent restart and still holds the token it was started with.
    /// Returns the token.
    /// </summary>
    public string Restore(string instanceId, string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(token);
        _tokens[instanceId] = Encoding.UTF8.GetBytes(token);
        return token;
    }

    /// <summary>Forgets the instance's token; false when it had none.</summary>
    public bool Revoke(string instanceId) => _tokens.TryRemove(instanceId, out _);

    public bool Authenticate(string instanceId, string token)
    {
        if (!_tokens.TryGetValue(instanceId, out var expected))
        {
            return false;
        }

        // The tokens' length is public (64 characters); their content is compared in constant time.
        var given = Encoding.UTF8.GetByteCount(token) == expected.Length ? Encoding.UTF8.GetBytes(token) : [];
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}
