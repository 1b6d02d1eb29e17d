using System.Security.Cryptography;
using System.Text;

namespace Drover.Agent.Shims;

/// <summary>
/// The fleet's shim credential, as the aggregator's Welcome last gave it: this shim adds it when it
/// forwards a request to another node's shim, and honours routing headers only from a request that
/// carries it. Unknown (no Welcome yet, or an aggregator without one) matches nothing.
/// </summary>
internal sealed class ShimCredential
{
    private volatile string? _value;

    /// <summary>The credential to send to another node's shim; null until a Welcome gave one.</summary>
    public string? Value => _value;

    public void Set(string value) => _value = value.Length > 0 ? value : null;

    /// <summary>Whether <paramref name="presented"/> is the credential (compared in constant time).</summary>
    public bool Matches(string? presented)
    {
        var value = _value;
        return value is not null && presented is not null
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(value));
    }
}
