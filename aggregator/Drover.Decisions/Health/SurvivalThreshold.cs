namespace Drover.Decisions.Health;

/// <summary>
/// A cluster's minimum survival threshold: the fixed number when one is set, otherwise
/// <c>ceil(total × ratio)</c>; never below 1, so a cluster without nodes is never at its threshold.
/// </summary>
internal static class SurvivalThreshold
{
    /// <summary>The threshold in force for a cluster of <paramref name="total"/> nodes.</summary>
    /// <remarks>
    /// The ratio is clamped to [0, 1] (NaN counts as 0): the configuration validator keeps it there,
    /// and a value that slipped past must not throw inside the decision loop.
    /// </remarks>
    public static int MinSurvivors(int total, int? fixedMinimum, double ratio)
    {
        var threshold = fixedMinimum ?? CeilingOf(Math.Max(0, total), ratio);
        return Math.Max(1, threshold);
    }

    private static int CeilingOf(int total, double ratio)
    {
        var clamped = double.IsNaN(ratio) ? 0d : Math.Clamp(ratio, 0d, 1d);

        // In decimal, not double: 100 × 0.07 is 7.000000000000001 in double, whose ceiling is 8.
        // A double converts to decimal rounded to 15 significant digits, so 0.07 becomes exactly 0.07.
        return (int)Math.Ceiling(total * (decimal)clamped);
    }
}
