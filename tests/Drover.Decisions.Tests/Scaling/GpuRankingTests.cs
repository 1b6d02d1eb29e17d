using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Scaling;

public class GpuRankingTests
{
    /// <summary>
    /// Reads and starts in a random order, against a plain list re-sorted after every start: the same GPU
    /// at every position, whether the read stays inside the first selection, passes it, or a start moves
    /// a GPU past it before the rest is ranked.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(3, 10)]
    [InlineData(4, 1000)]
    public void NextAndConsume_Randomized_MatchAPlainReSort(int seed, int keep)
    {
        var random = new Random(seed);
        var passes = 0;
        for (var round = 0; round < 200; round++)
        {
            var nodes = Enumerable.Range(0, random.Next(0, 8)).Select(n => new ScalingNode(
                    $"n{random.Next(100):00}",
                    "c1",
                    n,
                    Eligible: random.Next(5) > 0,
                    Priority: random.Next(-1, 2),
                    Weight: random.Next(2) * 100,
                    Enumerable.Range(0, random.Next(0, 4))
                        .Select(g => new ScalingGpu($"n{n}-g{g}", random.Next(6) > 0, random.Next(0, 5) * 10, random.Next(3), random.Next(2), Degraded: random.Next(5) == 0))
                        .ToArray()))
                .GroupBy(n => n.NodeId, StringComparer.Ordinal).Select(g => g.First())
                .ToArray();
            var model = nodes.SelectMany((n, ni) => n.Gpus.Select((g, gi) => (Node: ni, Gpu: gi, Free: g.MemoryFreeBytes)))
                .Where(x => nodes[x.Node].Eligible && nodes[x.Node].Gpus[x.Gpu].Healthy)
                .ToList();
            using var ranking = GpuRanking.Of(nodes, keep);
            var reads = 0;
            for (var step = 0; step < 8; step++)
            {
                // A pass reads from the best, as far as a function needs, then takes memory of some GPUs it read.
                var expected = Sorted(nodes, model);
                var length = random.Next(0, Math.Min(reads + 3, expected.Count) + 1);
                reads = Math.Max(reads, length);
                var cursor = default(GpuCursor);
                var read = new List<(GpuRank Rank, int Place)>();
                for (var i = 0; i < length; i++)
                {
                    Assert.True(ranking.Next(ref cursor, out var rank, out var place));
                    Assert.Equal(expected[i], (rank.NodeIndex, rank.GpuIndex, rank.MemoryFreeBytes));
                    read.Add((rank, place));
                }

                foreach (var (rank, place) in read.Where(r => r.Rank.MemoryFreeBytes > 0 && random.Next(3) == 0).OrderBy(_ => random.Next()).ToList())
                {
                    var bytes = random.Next(1, (int)rank.MemoryFreeBytes + 1);
                    ranking.Consume(rank, place, bytes);
                    var at = model.FindIndex(x => x.Node == rank.NodeIndex && x.Gpu == rank.GpuIndex);
                    model[at] = model[at] with { Free = model[at].Free - bytes };
                }
            }

            var all = Sorted(nodes, model);
            var end = default(GpuCursor);
            foreach (var gpu in all)
            {
                Assert.True(ranking.Next(ref end, out var rank, out _));
                Assert.Equal(gpu, (rank.NodeIndex, rank.GpuIndex, rank.MemoryFreeBytes));
            }

            Assert.False(ranking.Next(ref end, out _, out _));
            passes += all.Count > keep ? 1 : 0;
        }

        // With a small selection most rounds must read past it, or the slow path went untested.
        Assert.True(keep >= 10 || passes > 50, $"{passes} rounds read past the selection");
    }

    private static List<(int Node, int Gpu, long Free)> Sorted(ScalingNode[] nodes, List<(int Node, int Gpu, long Free)> model)
        => model
            .OrderBy(x => nodes[x.Node].Gpus[x.Gpu].Degraded)
            .ThenBy(x => nodes[x.Node].Gpus[x.Gpu].CommandQueueLength)
            .ThenBy(x => nodes[x.Node].Gpus[x.Gpu].UtilizationPercent)
            .ThenByDescending(x => x.Free)
            .ThenBy(x => nodes[x.Node].Priority)
            .ThenByDescending(x => nodes[x.Node].Weight)
            .ThenBy(x => nodes[x.Node].NodeId, StringComparer.Ordinal)
            .ThenBy(x => x.Gpu)
            .ToList();
}
