using Drover.Aggregator.Placement;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Tests.Placement;

/// <summary>The scale-down windows kept in the store: what is saved when, and what a restart (a reopened store) loads.</summary>
public sealed class ScalingWindowsTests : IDisposable
{
    private readonly StoreDirectory _stores = new();

    public void Dispose() => _stores.Dispose();

    private SqliteStateStore OpenStore() => _stores.Open();

    private static Dictionary<string, ScalingPrevious> Windows(params (string Function, double? Seconds)[] windows)
        => windows.ToDictionary(w => w.Function, w => new ScalingPrevious(w.Seconds is { } s ? TimeSpan.FromSeconds(s) : null), StringComparer.Ordinal);

    public static TheoryData<string, Dictionary<string, ScalingPrevious>, Dictionary<string, ScalingPrevious>, bool> Cases => new()
    {
        { "nothing kept, nothing now", Windows(), Windows(), false },
        { "a window opens", Windows(), Windows(("f", 0)), true },
        { "a window closes", Windows(("f", 12)), Windows(), true },
        { "another function's window", Windows(("f", 1)), Windows(("g", 1)), true },
        { "grown less than the step", Windows(("f", 10)), Windows(("f", 14.9)), false },
        { "grown by the step", Windows(("f", 10)), Windows(("f", 15)), true },
        { "shorter: closed and opened again between passes", Windows(("f", 10)), Windows(("f", 1)), true },
        { "one of two grown by the step", Windows(("f", 10), ("g", 3)), Windows(("f", 11), ("g", 8)), true },
        { "no window either time", Windows(("f", null)), Windows(("f", null)), false },
        { "a window where none was", Windows(("f", null)), Windows(("f", 0)), true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void WorthSaving_KeptAndNext_SavesOnChangeOrEveryStep(string name, Dictionary<string, ScalingPrevious> kept, Dictionary<string, ScalingPrevious> next, bool expected)
    {
        Assert.True(expected == ScalingWindows.WorthSaving(kept, next, ScalingWindows.SaveStep), name);
    }

    [Fact]
    public void Loaded_StoreReopened_TheWindowsKeptLast()
    {
        var before = new ScalingWindows(OpenStore());
        before.Keep(Windows(("counter", 0)));
        before.Keep(Windows(("counter", 5), ("echo", 0)));
        before.Keep(Windows(("counter", 7), ("echo", 2))); // less than a step: not written

        var restarted = new ScalingWindows(OpenStore());

        Assert.Equal(Windows(("counter", 5), ("echo", 0)), restarted.Loaded);
    }

    [Fact]
    public void Keep_WindowGrowingOneSecondAPass_WritesOnOpenEveryFiveSecondsAndOnClose()
    {
        var store = new RecordingMemoryStore();
        var windows = new ScalingWindows(store);

        for (var second = 0; second <= 12; second++)
        {
            windows.Keep(Windows(("counter", second)));
        }

        windows.Keep(Windows());
        windows.Keep(Windows());

        Assert.Equal([0.0, 5, 10], store.WindowSaves.Take(3).Select(w => w["counter"].BelowFor!.Value.TotalSeconds));
        Assert.Equal(4, store.WindowSaves.Count);
        Assert.Empty(store.WindowSaves[^1]);
    }

    [Fact]
    public void Keep_WithoutStore_WritesNothingAndLoadedIsEmpty()
    {
        var windows = new ScalingWindows();

        windows.Keep(Windows(("counter", 3)));

        Assert.Empty(windows.Loaded);
    }
}
