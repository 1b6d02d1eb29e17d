using Drover.Aggregator.Placement;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Tests.Placement;

public class ScalingLifecycleTests
{
    [Fact]
    public void ScalingRecords_Reason_NamesTheNumbersAndTheRanking()
    {
        var decision = new ScalingDecision(
            "counter", 8, 2, 1, 1, 4, 5, 4, 1, 0,
            [new ScalingStart("n2", "g2", 1), new ScalingStart("n3", "g3", 2)],
            [],
            1,
            [new ScalingCandidate("n2", "g2", 0, 5, 8000, 0, 100, 1), new ScalingCandidate("n3", "g3", 4, 5, 8000, 0, 100, 2)],
            null,
            true,
            "scale up");

        var reason = ScalingRecords.Reason(decision);
        Assert.Contains("queue length 8, slo 2, margin 1: ceil(8 / 2) + 1 = 5; desired 4 within [1, 4], current 1", reason, StringComparison.Ordinal);
        Assert.Contains("#1 node 'n2' GPU 'g2' (command queue 0", reason, StringComparison.Ordinal);
        Assert.Contains("#2 node 'n3' GPU 'g3' (command queue 4", reason, StringComparison.Ordinal);
        Assert.Equal("start 2 on 'n2', 'n3'; shortfall 1: no eligible node without an instance has a healthy GPU with the memory", ScalingRecords.Outcome(decision));
    }

    [Fact]
    public void ScalingRecords_MeasuredQueue_NamedInTheReasonAndTheInputs()
    {
        var decision = new ScalingDecision(
            "counter", 2, 1, 0, 1, 4, 2, 2, 1, 0,
            [new ScalingStart("n2", "g2", 1)],
            [],
            0,
            [new ScalingCandidate("n2", "g2", 0.1, 5, 8000, 0, 100, 1), new ScalingCandidate("n1", "g1", 5, 5, 8000, 0, 100, 2, QueueSource.Measured)],
            null,
            true,
            "scale up");

        var reason = ScalingRecords.Reason(decision);
        Assert.Contains("#1 node 'n2' GPU 'g2' (command queue 0.1 estimated, utilization 5%", reason, StringComparison.Ordinal);
        Assert.Contains("#2 node 'n1' GPU 'g1' (command queue 5 measured, utilization 5%", reason, StringComparison.Ordinal);
        var inputs = System.Text.Json.JsonSerializer.SerializeToElement(ScalingRecords.Inputs(decision));
        var candidates = inputs.GetProperty("candidates").EnumerateArray().ToArray();
        Assert.Equal(["estimated", "measured"], candidates.Select(c => c.GetProperty("commandQueueSource").GetString()));
    }
}
