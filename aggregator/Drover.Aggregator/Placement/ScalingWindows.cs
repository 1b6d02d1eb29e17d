using Drover.Aggregator.State;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Placement;

/// <summary>
/// The autoscaler's scale-down windows (<see cref="ScalingResult.Previous"/>) as the store keeps them:
/// loaded once at start (<see cref="Loaded"/>), kept after each pass (<see cref="Keep"/>), so a
/// restarted aggregator goes on with a window rather than opening it again.
/// </summary>
/// <remarks>
/// <para>
/// A window is how long the desired count has been seen below the current one, so the time the
/// aggregator was down does not count: nobody saw the load then. The autoscaler's first pass after a
/// start adds no time (it has no previous pass), and the window goes on from what was kept.
/// </para>
/// <para>
/// A window grows every pass, and writing each pass would cost a durable write a second per function
/// in a window. A save is made when a window opens, closes or starts again, and otherwise once a
/// window has grown <see cref="SaveStep"/> past what is kept. What is kept may so lag by up to that
/// step: after a restart a scale-down comes at most that much later, never earlier.
/// </para>
/// </remarks>
internal sealed class ScalingWindows
{
    /// <summary>How far a window may grow past what is kept before it is kept again.</summary>
    public static readonly TimeSpan SaveStep = TimeSpan.FromSeconds(5);

    private readonly IDecisionMemoryStore? _store;
    private IReadOnlyDictionary<string, ScalingPrevious> _kept;

    /// <param name="store">Where the windows are kept across restarts; loaded here. Null: memory only.</param>
    public ScalingWindows(IDecisionMemoryStore? store = null)
    {
        _store = store;
        Loaded = store?.LoadScalingWindows() ?? new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal);
        _kept = Loaded;
    }

    /// <summary>The windows kept when the aggregator started: the autoscaler's memory before its first pass.</summary>
    public IReadOnlyDictionary<string, ScalingPrevious> Loaded { get; }

    /// <summary>Keeps the windows a pass returned, when they differ enough from those kept (see the remarks).</summary>
    public void Keep(IReadOnlyDictionary<string, ScalingPrevious> windows)
    {
        if (_store is null || !WorthSaving(_kept, windows, SaveStep))
        {
            return;
        }

        // Kept as tried even when the write failed (logged by the store): the next change tries again,
        // rather than every pass writing to a store that fails.
        _store.SaveScalingWindows(windows);
        _kept = windows;
    }

    /// <summary>
    /// Whether <paramref name="next"/> should replace <paramref name="kept"/>: a function entered or left a
    /// window, a window is shorter than kept (it closed and opened again between two passes: a restart
    /// must not resume the longer one), or one grew by <paramref name="step"/> or more.
    /// </summary>
    internal static bool WorthSaving(IReadOnlyDictionary<string, ScalingPrevious> kept, IReadOnlyDictionary<string, ScalingPrevious> next, TimeSpan step)
    {
        if (kept.Count != next.Count)
        {
            return true;
        }

        foreach (var (function, window) in next)
        {
            if (!kept.TryGetValue(function, out var before))
            {
                return true;
            }

            switch (before.BelowFor, window.BelowFor)
            {
                case (null, null):
                    continue;
                case ({ } was, { } now) when now >= was && now - was < step:
                    continue;
                default:
                    return true;
            }
        }

        return false;
    }
}
