using Drover.Decisions.Placement;

namespace Drover.Decisions.Tests.Placement;

public sealed class ReportIntakeTests
{
    /// <summary>
    /// Rows: known, stopping, assigned node, current epoch, instances the table holds on the node,
    /// the reporting node, it reports stopped, the epoch it reports; the verdict. The cap is 3.
    /// </summary>
    [Theory]
    [InlineData(false, true, null, 0, 0, "n1", false, 1, ReportVerdict.StopAgain)]
    [InlineData(false, true, null, 0, 3, "n1", false, 1, ReportVerdict.StopAgain)]
    [InlineData(false, true, null, 0, 0, "n1", true, 1, ReportVerdict.StoppingEnded)]
    [InlineData(false, false, null, 0, 0, "n1", false, 4, ReportVerdict.Adopt)]
    [InlineData(false, false, null, 0, 0, "n1", false, 0, ReportVerdict.Adopt)]
    [InlineData(false, false, null, 0, 0, "n1", true, 4, ReportVerdict.Ignore)]
    [InlineData(false, false, null, 0, 3, "n1", false, 4, ReportVerdict.Ignore)]
    [InlineData(false, false, null, 0, 2, "n1", false, 4, ReportVerdict.Adopt)]
    [InlineData(true, false, "n2", 3, 0, "n1", false, 3, ReportVerdict.StaleCopy)]
    [InlineData(true, false, "n2", 3, 0, "n1", false, 9, ReportVerdict.StaleCopy)]
    [InlineData(true, false, "n2", 3, 0, "n1", true, 3, ReportVerdict.StaleCopyEnded)]
    [InlineData(true, true, "n1", 3, 0, "n1", false, 3, ReportVerdict.Record)]
    [InlineData(true, false, "n1", 3, 0, "n1", false, 2, ReportVerdict.OlderEpoch)]
    [InlineData(true, false, "n1", 3, 0, "n1", false, 3, ReportVerdict.Record)]
    [InlineData(true, false, "n1", 3, 0, "n1", false, 4, ReportVerdict.Record)]
    [InlineData(true, false, "n1", 3, 0, "n1", false, 0, ReportVerdict.Record)]
    [InlineData(true, false, "n1", 0, 0, "n1", false, 1, ReportVerdict.Record)]
    [InlineData(true, false, "n1", 3, 0, "n1", true, 2, ReportVerdict.OlderEpoch)]
    public void Classify_Cases(bool known, bool stopping, string? assigned, long epoch, int onNode, string node, bool stopped, long reported, ReportVerdict expected)
        => Assert.Equal(expected, ReportIntake.Classify(new ReportFacts(known, stopping, assigned, epoch, onNode, node, stopped, reported), maxInstancesPerNode: 3));
}
