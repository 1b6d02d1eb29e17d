using Drover.Aggregator.Leadership;

namespace Drover.Aggregator.Tests.Leadership;

public sealed class CurrentLeadershipTests
{
    private const string Store = "store-1";
    private const long Term = 5;

    /// <summary>
    /// Rows: the store and term an agent accepted, whether the aggregator was elected, what a lone one's raise function
    /// answers ("none": no function given, "above": the term seen + 1, "same": the term seen, "null": null); whether
    /// the agent is accepted, the term after, and whether the aggregator is deposed.
    /// </summary>
    [Theory]
    [InlineData("store-2", 99L, true, "none", true, Term, false)]
    [InlineData("store-2", 99L, false, "above", true, Term, false)]
    [InlineData("STORE-1", 99L, true, "none", true, Term, false)]
    [InlineData(Store, 4L, true, "none", true, Term, false)]
    [InlineData(Store, Term, true, "none", true, Term, false)]
    [InlineData(Store, 0L, false, "null", true, Term, false)]
    [InlineData(Store, 6L, true, "none", false, Term, true)]
    [InlineData(Store, 6L, true, "above", false, Term, true)]
    [InlineData(Store, 9L, false, "above", true, 10L, false)]
    [InlineData(Store, 9L, false, "same", false, Term, true)]
    [InlineData(Store, 9L, false, "null", false, Term, true)]
    [InlineData(Store, 9L, false, "none", false, Term, true)]
    public void Accepts_Cases(string storeId, long knownTerm, bool elected, string raise, bool accepted, long termAfter, bool deposed)
    {
        Func<long, long?>? higherTermSeen = raise switch
        {
            "none" => null,
            "above" => seen => seen + 1,
            "same" => seen => seen,
            "null" => _ => null,
            _ => throw new ArgumentOutOfRangeException(nameof(raise), raise, null),
        };
        var leadership = Leadership(elected, higherTermSeen);

        Assert.Equal(accepted, leadership.Accepts(storeId, knownTerm));

        Assert.Equal(termAfter, leadership.Term);
        Assert.Equal(deposed, leadership.Deposed.IsCompleted);
    }

    [Fact]
    public async Task Accepts_HigherTermOfThisStoreWhenElected_DeposedWithTheTerms()
    {
        var leadership = Leadership(elected: true);

        Assert.False(leadership.Accepts(Store, 7));

        var reason = await leadership.Deposed;
        Assert.Contains("term 7", reason, StringComparison.Ordinal);
        Assert.Contains($"term {Term}", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Accepts_Elected_NeverAsksTheRaiseFunction()
    {
        var asked = 0;
        var leadership = Leadership(elected: true, seen =>
        {
            asked++;
            return seen + 1;
        });

        Assert.False(leadership.Accepts(Store, 8));

        Assert.Equal(0, asked);
    }

    [Fact]
    public void Accepts_LoneRaisedTwice_TermOnlyMovesUp()
    {
        var leadership = Leadership(elected: false, seen => seen + 1);

        Assert.True(leadership.Accepts(Store, 20));
        Assert.True(leadership.Accepts(Store, 12));
        Assert.True(leadership.Accepts(Store, 21));

        Assert.Equal(21, leadership.Term);
        Assert.False(leadership.Deposed.IsCompleted);
    }

    [Fact]
    public async Task Depose_Twice_TheFirstReasonStays()
    {
        var leadership = Leadership(elected: true);

        leadership.Depose("first");
        leadership.Depose("second");

        Assert.Equal("first", await leadership.Deposed);
    }

    [Fact]
    public void Acting_UntilTheRenewedLeaseRunsOutOnItsClock_ThenNotWithoutAnyTimer()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var leadership = Leadership(elected: true);
        Assert.True(leadership.Acting(time)); // nothing set yet: a lone aggregator acts for ever

        leadership.ActUntil(time.GetTimestamp() + time.TimestampFrequency); // one second from now
        Assert.True(leadership.Acting(time));
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True(leadership.Acting(time));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(leadership.Acting(time));

        leadership.ActUntil(time.GetTimestamp() + time.TimestampFrequency);
        Assert.True(leadership.Acting(time));
        leadership.Depose("test");
        Assert.False(leadership.Acting(time));
    }

    private static CurrentLeadership Leadership(bool elected, Func<long, long?>? higherTermSeen = null)
        => new("agg-1", Store, Term, "https://agg-1:7401", "https://agg-1:7400", DateTimeOffset.UnixEpoch, elected, higherTermSeen);
}
