using System.Text;

namespace Drover.Agent.Shims;

/// <summary>
/// Rendezvous (highest-random-weight) hashing: a key goes to the candidate whose hash of (key,
/// candidate) is highest, so every node picks the same one for a key, and removing a candidate moves
/// only its own keys. The hash is FNV-1a 64 with a SplitMix64 finalizer: stable across processes and
/// machines (never string.GetHashCode, which is randomized per process); XxHash64 is not in the shared
/// framework.
/// </summary>
internal static class RendezvousHash
{
    private const ulong FnvOffset = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    /// <summary>The index in <paramref name="candidates"/> chosen for <paramref name="key"/>; -1 when there are none.</summary>
    public static int Choose(ReadOnlySpan<byte> key, IReadOnlyList<string> candidates)
    {
        var best = -1;
        var bestWeight = 0UL;
        for (var i = 0; i < candidates.Count; i++)
        {
            var weight = Weight(key, candidates[i]);

            // Ties (vanishingly rare) go to the smaller id, so the choice never depends on order.
            if (best < 0 || weight > bestWeight || (weight == bestWeight && string.CompareOrdinal(candidates[i], candidates[best]) < 0))
            {
                best = i;
                bestWeight = weight;
            }
        }

        return best;
    }

    public static int Choose(string key, IReadOnlyList<string> candidates) => Choose(Encoding.UTF8.GetBytes(key), candidates);

    /// <summary>The weight of one candidate for one key.</summary>
    public static ulong Weight(ReadOnlySpan<byte> key, string candidate)
    {
        var hash = FnvOffset;
        foreach (var b in key)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        // A separator, so ("ab", "c") and ("a", "bc") differ.
        hash = (hash ^ 0xff) * FnvPrime;
        foreach (var c in candidate)
        {
            hash = (hash ^ (byte)c) * FnvPrime;
            hash = (hash ^ (byte)(c >> 8)) * FnvPrime;
        }

        return Mix(hash);
    }

    /// <summary>SplitMix64's finalizer: FNV's low bits are weak, and the weights are compared whole.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        return z ^ (z >> 31);
    }
}
