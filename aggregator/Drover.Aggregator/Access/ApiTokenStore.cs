using System.Security.Cryptography;
using System.Text;

namespace Drover.Aggregator.Access;

/// <summary>The API tokens the aggregator accepts, read from the tokens file at start.</summary>
internal sealed class ApiTokenStore
{
    /// <summary>The longest token looked up; a longer one is refused without hashing it.</summary>
    public const int MaxTokenLength = 256;

    private readonly (ApiToken Token, byte[] Hash)[] _tokens;

    public ApiTokenStore(IReadOnlyList<ApiToken> tokens)
    {
        _tokens = tokens.Select(t => (t, Convert.FromHexString(t.Sha256))).ToArray();
    }

    /// <summary>Reads the file <c>apiTokensFile</c> names (see <see cref="ApiTokenFile.Read"/>).</summary>
    public static ApiTokenStore Load(string path) => new(ApiTokenFile.Read(path));

    public int Count => _tokens.Length;

    /// <summary>
    /// The entry whose hash is the hash of <paramref name="presented"/>, or null. Every entry is
    /// compared, each in constant time, so how long it takes says nothing about which hash came close.
    /// </summary>
    public ApiToken? Find(string presented)
    {
        if (presented.Length is 0 or > MaxTokenLength)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        ApiToken? found = null;
        foreach (var (token, stored) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, stored))
            {
                found = token;
            }
        }

        return found;
    }
}
