using Drover.Decisions.Balancing;
using static Drover.Decisions.Tests.Balancing.Lb;

namespace Drover.Decisions.Tests.Balancing;

public class LbCoordinationRandomizedTests
{
    private static readonly int[] Weights = [0, 1, 10, 100, 256];
    private static readonly LbEntryState[] States = [LbEntryState.Ready, LbEntryState.Ready, LbEntryState.Drain, LbEntryState.Maint];
    private static readonly string[] Policies = ["roundrobin", "leastconn"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Coordinate_RandomPasses_InvariantsHold(int seed)
    {
        var random = new Random(seed);
        var synced = 0;
        var mourned = 0;
        for (var i = 0; i < 400; i++)
        {
            var context = $"seed {seed} case {i}";
            var containers = Enumerable.Range(0, random.Next(0, 8)).Select(n => RandomEntry(random, $"db{n}")).OrderBy(_ => random.Next()).ToArray();
            var instances = Enumerable.Range(0, random.Next(0, 8)).Select(n => RandomEntry(random, $"i-{n}")).OrderBy(_ => random.Next()).ToArray();
            var service = new LbTable(LbSide.Service, Service, random.Next(0, 100), Policies[random.Next(2)], containers);
            var function = new LbTable(LbSide.Function, Function, random.Next(0, 100), Policies[random.Next(2)], instances);

            // Pairs among ids that exist, and a few that do not (placed but not in a table yet).
            var containerIds = containers.Select(c => c.Id).Append("db-x").OrderBy(_ => random.Next()).ToList();
            var instanceIds = instances.Select(f => f.Id).Append("i-x").OrderBy(_ => random.Next()).ToList();
            var pairCount = random.Next(0, Math.Min(containerIds.Count, instanceIds.Count) + 1);
            var pairing = new LbPairing(
                Enumerable.Range(0, pairCount).Select(n => new LbPair(containerIds[n], instanceIds[n])).OrderBy(p => p.ContainerId, StringComparer.Ordinal).ToArray(),
                []);

            // A memory: nothing, or a past pass that saw some of these ids (some since moved) and some now gone.
            var memory = random.Next(5) == 0 ? LbCoordinationMemory.Empty : RandomMemory(random, containers, instances);

            var result = LbCoordination.Coordinate(service, function, pairing, memory);

            var used = pairing.Pairs
                .Where(p => containers.Any(c => c.Id == p.ContainerId) && instances.Any(f => f.Id == p.FunctionInstanceId))
                .ToArray();
            var touchable = used.Select(p => p.ContainerId).Concat(memory.Pairs.Select(p => p.ContainerId)).ToHashSet();
            var touchableInstances = used.Select(p => p.FunctionInstanceId).Concat(memory.Pairs.Select(p => p.FunctionInstanceId)).ToHashSet();

            // Same ids in the same order; entries without a pair (now or last pass) never change.
            Assert.Equal(containers.Select(c => c.Id), result.Service.Entries.Select(c => c.Id));
            Assert.Equal(instances.Select(f => f.Id), result.Function.Entries.Select(f => f.Id));
            for (var n = 0; n < containers.Length; n++)
            {
                Assert.True(touchable.Contains(containers[n].Id) || ReferenceEquals(containers[n], result.Service.Entries[n]), context);
            }

            for (var n = 0; n < instances.Length; n++)
            {
                Assert.True(touchableInstances.Contains(instances[n].Id) || ReferenceEquals(instances[n], result.Function.Entries[n]), context);
            }

            // Every pair ends equal, with the setting of the side that leads.
            foreach (var pair in used)
            {
                var c = containers.Single(e => e.Id == pair.ContainerId);
                var f = instances.Single(e => e.Id == pair.FunctionInstanceId);
                var functionLeads = Moved(f, memory.FunctionEntries) && !Moved(c, memory.ServiceEntries);

                // A pair new to the memory joins at a known container's setting; a retired container comes back into service with it.
                var joins = !memory.Pairs.Contains(pair) && memory.ServiceEntries.ContainsKey(c.Id);
                var revived = joins && c.State == LbEntryState.Maint && (memory.Retired ?? []).Contains(c.Id);
                var expected = revived ? $"{c.Weight} ready" : joins ? Setting(c) : functionLeads ? Setting(f) : Setting(c);
                Assert.True(expected == Setting(Entry(result.Service, c.Id)), context);
                Assert.True(expected == Setting(Entry(result.Function, f.Id)), context);
                synced += Setting(c) != Setting(f) ? 1 : 0;
            }

            // Policies end equal; versions and flags agree with the tables.
            Assert.Equal(result.Service.Policy, result.Function.Policy);
            CheckTable(service, result.Service, result.ServiceChanged, context);
            CheckTable(function, result.Function, result.FunctionChanged, context);
            Assert.True((result.Changes.Count > 0) == (result.ServiceChanged || result.FunctionChanged), context);
            mourned += result.Changes.Count(c => c.EndsWith("was removed)", StringComparison.Ordinal));

            // A second pass on the result is a no-op.
            var again = LbCoordination.Coordinate(result.Service, result.Function, pairing, result.Memory);
            Assert.Same(result.Service, again.Service);
            Assert.Same(result.Function, again.Function);
            Assert.False(again.ServiceChanged, context);
            Assert.False(again.FunctionChanged, context);
            Assert.Empty(again.Changes);
        }

        // The generator must reach both kinds of change, or the invariants above prove little.
        Assert.InRange(synced, 50, int.MaxValue);
        Assert.InRange(mourned, 20, int.MaxValue);
    }

    private static void CheckTable(LbTable given, LbTable result, bool changed, string context)
    {
        if (changed)
        {
            Assert.Equal(given.Version + 1, result.Version);
            Assert.True(result.Policy != given.Policy || !result.Entries.SequenceEqual(given.Entries), context);
        }
        else
        {
            Assert.Same(given, result);
        }
    }

    private static bool Moved(LbEntry entry, IReadOnlyDictionary<string, LbEntry> last)
        => !last.TryGetValue(entry.Id, out var synced) || Setting(synced) != Setting(entry);

    private static LbEntry RandomEntry(Random random, string id)
        => new(id, Weights[random.Next(Weights.Length)], States[random.Next(States.Length)]);

    private static LbCoordinationMemory RandomMemory(Random random, LbEntry[] containers, LbEntry[] instances)
    {
        var gone = Enumerable.Range(0, random.Next(0, 3));
        var service = containers.Where(_ => random.Next(4) > 0).Select(c => random.Next(3) == 0 ? RandomEntry(random, c.Id) : c)
            .Concat(gone.Select(n => RandomEntry(random, $"db-gone{n}"))).ToArray();
        var function = instances.Where(_ => random.Next(4) > 0).Select(f => random.Next(3) == 0 ? RandomEntry(random, f.Id) : f)
            .Concat(gone.Select(n => RandomEntry(random, $"i-gone{n}"))).ToArray();
        var containerIds = service.Select(e => e.Id).OrderBy(_ => random.Next()).ToList();
        var instanceIds = function.Select(e => e.Id).OrderBy(_ => random.Next()).ToList();
        var pairs = Enumerable.Range(0, random.Next(0, Math.Min(containerIds.Count, instanceIds.Count) + 1))
            .Select(n => (containerIds[n], instanceIds[n])).ToArray();
        return Remember(Policies[random.Next(2)], Policies[random.Next(2)], service, function, pairs);
    }
}
