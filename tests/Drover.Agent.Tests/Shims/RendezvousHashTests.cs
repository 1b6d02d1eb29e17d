using Drover.Agent.Shims;

namespace Drover.Agent.Tests.Shims;

public sealed class RendezvousHashTests
{
    private static readonly string[] Instances = ["svc-a", "svc-b", "svc-c", "svc-d", "svc-e"];

    private static IEnumerable<string> Keys(int count) => Enumerable.Range(0, count).Select(i => $"user-{i}");

    [Fact]
    public void Choose_SameKey_SameInstanceWhateverTheOrder()
    {
        var reversed = Instances.Reverse().ToArray();
        foreach (var key in Keys(2000))
        {
            var chosen = Instances[RendezvousHash.Choose(key, Instances)];
            Assert.Equal(chosen, Instances[RendezvousHash.Choose(key, Instances)]);
            Assert.Equal(chosen, reversed[RendezvousHash.Choose(key, reversed)]);
        }
    }

    [Fact]
    public void Choose_OneInstanceRemoved_OnlyItsKeysMove()
    {
        var without = Instances.Where(i => i != "svc-c").ToArray();
        var moved = 0;
        foreach (var key in Keys(2000))
        {
            var before = Instances[RendezvousHash.Choose(key, Instances)];
            var after = without[RendezvousHash.Choose(key, without)];
            if (before == "svc-c")
            {
                moved++;
            }
            else
            {
                Assert.Equal(before, after);
            }
        }

        Assert.InRange(moved, 1, 2000);
    }

    [Fact]
    public void Choose_ManyKeys_SpreadOverEveryInstance()
    {
        var counts = Keys(5000).GroupBy(k => Instances[RendezvousHash.Choose(k, Instances)]).ToDictionary(g => g.Key, g => g.Count());

        // 1000 each on average; a broken mix piles them on one or two.
        Assert.Equal(Instances.Length, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 800, 1200));
    }

    [Fact]
    public void Weight_IsStableAcrossProcesses()
    {
        // Pinned: another node (another process, another build) must compute the same weights.
        Assert.Equal(RendezvousHash.Weight("user-1"u8, "svc-a"), RendezvousHash.Weight("user-1"u8, "svc-a"));
        Assert.Equal(Pinned, RendezvousHash.Weight("user-1"u8, "svc-a"));
        Assert.NotEqual(RendezvousHash.Weight("ab"u8, "c"), RendezvousHash.Weight("a"u8, "bc"));
    }

    [Fact]
    public void Choose_NoCandidates_MinusOne() => Assert.Equal(-1, RendezvousHash.Choose("k", []));

    private const ulong Pinned = 795796691006910022;
}
