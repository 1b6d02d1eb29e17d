namespace Drover.Aggregator.Fleet;

/// <summary>Names this aggregator process in Welcome messages and logs.</summary>
internal sealed record AggregatorIdentity(string Id)
{
    public static AggregatorIdentity ForThisProcess()
        => new($"{Environment.MachineName}-{Environment.ProcessId}");
}
