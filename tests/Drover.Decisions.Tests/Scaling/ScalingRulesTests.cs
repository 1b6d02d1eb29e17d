using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Scaling;

public sealed class ScalingRulesTests
{
    /// <summary>Rows: survives, cluster, serving clusters (null: no health decision yet), penalised; may it take instances.</summary>
    [Theory]
    [InlineData(true, "c1", null, false, true)]
    [InlineData(false, "c1", null, false, false)]
    [InlineData(true, "c1", null, true, false)]
    [InlineData(true, "c1", "c1,c2", false, true)]
    [InlineData(true, "c3", "c1,c2", false, false)]
    [InlineData(true, "c1", "", false, false)]
    [InlineData(false, "c1", "c1", true, false)]
    public void MayTakeInstances_Cases(bool survives, string cluster, string? serving, bool penalised, bool expected)
    {
        var servingClusters = serving?.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(expected, ScalingRules.MayTakeInstances(survives, cluster, servingClusters, penalised));
    }

    /// <summary>Rows: per node lost:queued:inFlight, the gateway's held count; the queue length.</summary>
    [Theory]
    [InlineData("", 0, 0)]
    [InlineData("", 7, 7)]
    [InlineData("n:2:3", 0, 5)]
    [InlineData("n:2:3,n:1:1", 4, 11)]
    [InlineData("l:100:100,n:1:0", 0, 1)]
    [InlineData("n:2:3", -4, 5)]
    [InlineData("n:-3:2", 0, 2)]
    public void RequestQueueLength_Cases(string nodes, long gatewayHeld, int expected)
    {
        var perNode = nodes.Length == 0
            ? []
            : nodes.Split(',').Select(n => n.Split(':')).Select(p => (p[0] == "l", long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture))).ToArray();

        Assert.Equal(expected, ScalingRules.RequestQueueLength(perNode, gatewayHeld));
    }

    [Fact]
    public void RequestQueueLength_BeyondInt_Clamped()
        => Assert.Equal(int.MaxValue, ScalingRules.RequestQueueLength([(false, int.MaxValue, int.MaxValue)], int.MaxValue));
}
