namespace Drover.Aggregator.Functions;

/// <summary>The values of a function definition's <c>placement</c>.</summary>
internal static class FunctionPlacements
{
    /// <summary>One instance on every surviving node.</summary>
    public const string EveryNode = "every-node";

    /// <summary>As many instances as the queue needs, on the least busy GPUs (issue 7).</summary>
    public const string Autoscale = "autoscale";
}
