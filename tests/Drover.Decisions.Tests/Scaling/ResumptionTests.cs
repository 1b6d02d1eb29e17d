using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Scaling;

public sealed class ResumptionTests
{
    private static ScalingDecision Decision(string function, int starts, int shortfall = 0)
        => new(function, 0, 1, 0, 0, 10, 0, 0, 0, 0,
            Enumerable.Range(1, starts).Select(r => new ScalingStart($"to{r}", $"g{r}", r)).ToArray(),
            [], shortfall, [], null, starts > 0, "");

    /// <summary>Stranded instances as function:id@order, decisions as function:starts[:shortfall]; starts as function:node=resumed, let go as ids.</summary>
    [Theory]
    [InlineData("", "f:1", "f:to1=", "")]
    [InlineData("f:x@5", "f:1", "f:to1=x", "")]
    [InlineData("f:x@5,f:y@2", "f:1", "f:to1=y", "x")]
    [InlineData("f:x@5,f:y@2", "f:2", "f:to1=y,f:to2=x", "")]
    [InlineData("f:x@5,f:y@2", "f:3", "f:to1=y,f:to2=x,f:to3=", "")]
    [InlineData("f:x@5", "", "", "x")]
    [InlineData("f:x@5,f:y@2", "f:1:1", "f:to1=y", "")]
    [InlineData("f:x@5,f:y@2", "f:0:2", "", "")]
    [InlineData("f:x@1,g:y@1", "g:1", "g:to1=y", "x")]
    [InlineData("f:b@1,f:a@1", "f:1", "f:to1=a", "b")]
    public void Plan_Cases(string stranded, string decisions, string starts, string letGo)
    {
        var waiting = Split(stranded).Select(s =>
        {
            var (function, rest) = (s.Split(':')[0], s.Split(':')[1]);
            return new StrandedInstance(rest.Split('@')[0], function, "lost", long.Parse(rest.Split('@')[1], System.Globalization.CultureInfo.InvariantCulture));
        });
        var made = Split(decisions).Select(d =>
        {
            var parts = d.Split(':');
            return Decision(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts.Length > 2 ? int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) : 0);
        });

        var plan = Resumption.Plan(waiting, made);

        Assert.Equal(Split(starts), plan.Starts.Select(s => $"{s.Function}:{s.Start.NodeId}={s.Resumes?.InstanceId}"));
        Assert.Equal(Split(letGo), plan.LetGo.Select(s => s.InstanceId));
    }

    private static string[] Split(string list) => list.Length == 0 ? [] : list.Split(',');
}
