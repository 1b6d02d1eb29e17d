namespace Drover.Decisions.Scaling;

/// <summary>One function that is not at its desired count in this pass: the numbers its decision reports.</summary>
internal sealed class Plan(ScalingFunction function, int index, int queue, int formula, int desired, int current, int starting)
{
    public ScalingFunction Function { get; } = function;

    /// <summary>The function's position in the snapshot.</summary>
    public int Index { get; } = index;

    public int Queue { get; } = queue;

    public int Formula { get; } = formula;

    public int Desired { get; } = desired;

    public int Current { get; } = current;

    public int Starting { get; } = starting;

    /// <summary>The function's instances (gathered after the plans are known).</summary>
    public List<ScalingInstance> Instances { get; } = [];

    /// <summary>The scale-down window in force (when below).</summary>
    public TimeSpan Window { get; set; }

    /// <summary>How long it has been below, this pass included (when below).</summary>
    public TimeSpan WindowRan { get; set; }

    /// <summary>The window state to carry: null when not below, or when the window is over and it scales down now.</summary>
    public TimeSpan? BelowFor { get; set; }
}
