using Drover.Decisions.Services;

namespace Drover.Decisions.Tests.Services;

public class ServiceRolloutTests
{
    public static TheoryData<string, string?, RolloutSet[], bool, RolloutStep, string?, string[]> Cases => new()
    {
        // name, desired, active, sets, routes acknowledged => step, version, retired
        { "no set yet", null, [], true, RolloutStep.CreateSet, "v1", [] },
        { "first set, none ready", null, [new("v1", 3, 0)], true, RolloutStep.Hold, "v1", [] },
        { "first set, one of three ready: serve at once", null, [new("v1", 3, 1)], true, RolloutStep.Shift, "v1", [] },
        { "active alone", "v1", [new("v1", 3, 3)], true, RolloutStep.Hold, "v1", [] },
        { "active alone, instances down: still alone", "v1", [new("v1", 3, 0)], false, RolloutStep.Hold, "v1", [] },
        { "new version, no set", "v1", [new("v1", 3, 3)], true, RolloutStep.CreateSet, "v2", [] },
        { "new set two of three ready: old keeps serving", "v1", [new("v1", 3, 3), new("v2", 3, 2)], true, RolloutStep.Hold, "v2", [] },
        { "new set all ready: shift", "v1", [new("v1", 3, 3), new("v2", 3, 3)], true, RolloutStep.Shift, "v2", ["v1"] },
        { "shifted, nodes not all acknowledged", "v2", [new("v1", 3, 3), new("v2", 3, 3)], false, RolloutStep.Hold, "v2", ["v1"] },
        { "shifted and acknowledged: remove old", "v2", [new("v1", 3, 3), new("v2", 3, 3)], true, RolloutStep.RemoveRetired, "v2", ["v1"] },
        { "a third version during a rollout: waits for it, both old retire", "v2", [new("v1", 3, 3), new("v2", 3, 3), new("v3", 3, 3)], true, RolloutStep.Shift, "v3", ["v1", "v2"] },
        { "rolled back to the active version: the pending set retires", "v1", [new("v1", 3, 3), new("v2", 3, 1)], true, RolloutStep.RemoveRetired, "v1", ["v2"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Table(string name, string? active, RolloutSet[] sets, bool acknowledged, RolloutStep step, string? version, string[] retired)
    {
        var desired = name switch
        {
            "no set yet" or "first set, none ready" or "first set, one of three ready: serve at once" or "active alone" or "active alone, instances down: still alone" or "rolled back to the active version: the pending set retires" => "v1",
            "a third version during a rollout: waits for it, both old retire" => "v3",
            _ => "v2",
        };

        var decision = ServiceRollout.Decide(new RolloutSnapshot(desired, active, sets, acknowledged));

        Assert.Equal(step, decision.Step);
        Assert.Equal(version, decision.Version);
        Assert.Equal(retired, decision.Retired);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    [Fact]
    public void Decide_Randomized_NeverRemovesTheActiveSetNorShiftsToAnUnreadyReplacement()
    {
        var random = new Random(5);
        for (var i = 0; i < 2000; i++)
        {
            var versions = Enumerable.Range(1, random.Next(1, 4)).Select(v => $"v{v}").ToArray();
            var sets = versions.Where(_ => random.Next(4) > 0).Select(v => new RolloutSet(v, random.Next(1, 4), 0)).Select(s => s with { Ready = random.Next(0, s.Wanted + 1) }).ToArray();
            var active = sets.Length > 0 && random.Next(3) > 0 ? sets[random.Next(sets.Length)].Version : null;
            var desired = versions[random.Next(versions.Length)];

            var decision = ServiceRollout.Decide(new RolloutSnapshot(desired, active, sets, random.Next(2) == 0));

            Assert.DoesNotContain(decision.Step == RolloutStep.RemoveRetired ? active : null, decision.Retired);
            if (decision.Step == RolloutStep.Shift && active is not null)
            {
                var target = sets.Single(s => s.Version == decision.Version);
                Assert.True(target.Ready >= target.Wanted, $"shifted to '{target.Version}' with {target.Ready} of {target.Wanted} ready");
            }
        }
    }
}
