using Drover.Aggregator.Tests.State;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>A lone aggregator's terms, kept in <c>state.db</c>: one more at each start, never handed out twice.</summary>
public sealed class LoneTermTests : IDisposable
{
    private readonly StoreDirectory _stores = new();

    public void Dispose() => _stores.Dispose();

    [Fact]
    public void BeginLoneTerm_Twice_TermsOneAndTwoOfOneStore()
    {
        var store = _stores.Open();

        var first = store.BeginLoneTerm();
        var second = store.BeginLoneTerm();

        Assert.Equal(1, first.Term);
        Assert.Equal(2, second.Term);
        Assert.False(string.IsNullOrEmpty(first.StoreId));
        Assert.Equal(first.StoreId, second.StoreId);
    }

    [Fact]
    public void BeginLoneTerm_AfterReopening_GoesOnFromTheKeptTermWithTheSameStore()
    {
        var store = _stores.Open();
        var first = store.BeginLoneTerm();
        store.BeginLoneTerm();

        var reopened = _stores.Reopen().BeginLoneTerm();

        Assert.Equal(3, reopened.Term);
        Assert.Equal(first.StoreId, reopened.StoreId);
    }

    [Fact]
    public void BeginLoneTerm_AnotherDataDirectory_AnotherStore()
    {
        using var other = new StoreDirectory();

        Assert.NotEqual(_stores.Open().BeginLoneTerm().StoreId, other.Open().BeginLoneTerm().StoreId);
    }

    /// <summary>Rows: the terms begun before, the term seen; the term raised to (kept above both).</summary>
    [Theory]
    [InlineData(1, 10L, 11L)]
    [InlineData(0, 10L, 11L)]
    [InlineData(3, 2L, 4L)]
    [InlineData(3, 3L, 4L)]
    public void RaiseTerm_Cases(int begun, long seen, long raised)
    {
        var store = _stores.Open();
        for (var i = 0; i < begun; i++)
        {
            store.BeginLoneTerm();
        }

        Assert.Equal(raised, store.RaiseTerm(seen));
    }

    [Fact]
    public void RaiseTerm_ThenReopened_TheNextTermIsAboveTheRaisedOne()
    {
        var store = _stores.Open();
        var begun = store.BeginLoneTerm();
        Assert.Equal(11, store.RaiseTerm(10));

        var next = _stores.Reopen().BeginLoneTerm();

        Assert.Equal((begun.StoreId, 12L), (next.StoreId, next.Term));
    }

    [Fact]
    public async Task BeginLoneTerm_ManyAtOnce_EveryTermHandedOutOnce()
    {
        var store = _stores.Open();

        var terms = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => store.BeginLoneTerm().Term)));

        Assert.Equal(Enumerable.Range(1, 16).Select(t => (long)t), terms.Order());
    }
}
