using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Scaling;

public sealed class StartCheckTests
{
    private static readonly TimeSpan Confirm = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Rows: confirmed, reported failed, seconds since assigned, may hold state, loaded; the verdict
    /// ("" none, "remove", "resume") and a phrase of its reason.
    /// </summary>
    [Theory]
    [InlineData(false, false, 9.9, false, false, "", "")]
    [InlineData(false, false, 10, false, false, "remove", "did not confirm the start of instance 'i' within 10 s; it is placed again elsewhere")]
    [InlineData(false, false, 10, true, false, "resume", "within 10 s; it resumes elsewhere from its last committed state")]
    [InlineData(false, false, 19.9, true, true, "", "")]
    [InlineData(false, false, 20, true, true, "resume", "within 20 s; it resumes elsewhere")]
    [InlineData(true, false, 600, false, false, "", "")]
    [InlineData(true, true, 0, false, false, "remove", "instance 'i' failed on node 'n1' (exit 1); it is placed again elsewhere")]
    [InlineData(true, true, 0, true, false, "resume", "failed on node 'n1' (exit 1); it resumes elsewhere")]
    public void Failed_Cases(bool confirmed, bool reportedFailed, double seconds, bool mayHoldState, bool loaded, string verdict, string reason)
    {
        var instance = new StartCheckInstance("i", "n1", confirmed, reportedFailed, reportedFailed ? "exit 1" : "", TimeSpan.FromSeconds(seconds), mayHoldState, loaded);

        var failed = StartCheck.Failed([instance], Confirm);

        if (verdict.Length == 0)
        {
            Assert.Empty(failed);
            return;
        }

        var failure = Assert.Single(failed);
        Assert.Equal(("i", "n1"), (failure.InstanceId, failure.NodeId));
        Assert.Equal(verdict == "remove" ? StartFailureAction.Remove : StartFailureAction.Resume, failure.Action);
        Assert.Contains(reason, failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_Several_InTheirOrder()
    {
        StartCheckInstance Unconfirmed(string id) => new(id, "n1", false, false, "", Confirm, false, false);
        StartCheckInstance Fine(string id) => new(id, "n1", true, false, "", Confirm, false, false);

        var failed = StartCheck.Failed([Unconfirmed("b"), Fine("c"), Unconfirmed("a")], Confirm);

        Assert.Equal(["b", "a"], failed.Select(f => f.InstanceId));
    }
}
