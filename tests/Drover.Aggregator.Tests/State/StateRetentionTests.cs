using Drover.Aggregator.State;

namespace Drover.Aggregator.Tests.State;

public class StateRetentionTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromHours(24);

    private static StoredInstance Stored(string id) => new(id, "resize", 3, 3, Now.AddDays(-10));

    public static TheoryData<bool, double?, bool, double?> Cases => new()
    {
        // known, unknown since (hours before now; null: first seen now), deleted, unknown since after the pass
        { true, null, false, null },
        { true, 30, false, null },
        { false, null, false, 0 },
        { false, 23.99, false, 23.99 },
        { false, 24, true, null },
        { false, 100, true, null },
        { false, -1, false, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_OneInstance_DeletesOnlyWhenUnknownForTheWholeGrace(bool known, double? unknownForHours, bool deleted, double? nextUnknownForHours)
    {
        var previous = new Dictionary<string, DateTimeOffset>();
        if (unknownForHours is { } hours)
        {
            previous["fn-a-1"] = Now.AddHours(-hours);
        }

        var plan = StateRetention.Decide([Stored("fn-a-1")], known ? new HashSet<string> { "fn-a-1" } : new HashSet<string>(), previous, Now, Grace);

        Assert.Equal(deleted, plan.Delete.Any(d => d.InstanceId == "fn-a-1"));
        Assert.Equal(nextUnknownForHours is { } next ? Now.AddHours(-next) : null, plan.UnknownSince.TryGetValue("fn-a-1", out var since) ? since : (DateTimeOffset?)null);
    }

    [Fact]
    public void Decide_InstancesGoneFromTheStore_AreNotCarriedOn()
    {
        var previous = new Dictionary<string, DateTimeOffset> { ["gone"] = Now.AddHours(-1), ["fn-a-1"] = Now.AddHours(-2) };

        var plan = StateRetention.Decide([Stored("fn-a-1")], new HashSet<string>(), previous, Now, Grace);

        Assert.Equal(["fn-a-1"], plan.UnknownSince.Keys);
        Assert.Empty(plan.Delete);
    }

    [Fact]
    public void Decide_ZeroGrace_DeletesEveryUnknownAtOnceAndNoKnown()
    {
        var plan = StateRetention.Decide([Stored("a"), Stored("b"), Stored("c")], new HashSet<string> { "b" }, new Dictionary<string, DateTimeOffset>(), Now, TimeSpan.Zero);

        Assert.Equal(["a", "c"], plan.Delete.Select(d => d.InstanceId));
        Assert.Empty(plan.UnknownSince);
    }

    [Fact]
    public void Decide_Randomized_NeverDeletesAKnownInstanceNorBeforeTheGrace()
    {
        var random = new Random(13);
        for (var round = 0; round < 200; round++)
        {
            var stored = Enumerable.Range(0, random.Next(0, 20)).Select(i => Stored($"i-{i}")).ToList();
            var known = stored.Where(_ => random.Next(2) == 0).Select(s => s.InstanceId).ToHashSet();
            var previous = stored.Where(_ => random.Next(2) == 0).ToDictionary(s => s.InstanceId, _ => Now.AddHours(-random.Next(0, 48)));

            var plan = StateRetention.Decide(stored, known, previous, Now, Grace);

            Assert.All(plan.Delete, d => Assert.DoesNotContain(d.InstanceId, known));
            Assert.All(plan.Delete, d => Assert.True(previous.TryGetValue(d.InstanceId, out var since) && Now - since >= Grace));
            Assert.Equal(stored.Count - known.Count, plan.Delete.Count + plan.UnknownSince.Count);
        }
    }
}
