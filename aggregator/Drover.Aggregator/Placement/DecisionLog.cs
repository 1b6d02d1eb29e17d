namespace Drover.Aggregator.Placement;

/// <summary>The last placement decisions (bounded), newest last, for the API and for people.</summary>
internal sealed class DecisionLog
{
    public const int Capacity = 1000;
    private readonly Lock _gate = new();
    private readonly Queue<DecisionRecord> _records = new();

    public void Add(DecisionRecord record)
    {
        lock (_gate)
        {
            _records.Enqueue(record);
            while (_records.Count > Capacity)
            {
                _records.Dequeue();
            }
        }
    }

    public IReadOnlyList<DecisionRecord> All
    {
        get
        {
            lock (_gate)
            {
                return _records.ToArray();
            }
        }
    }

    public IReadOnlyList<DecisionRecord> For(string function)
    {
        lock (_gate)
        {
            return _records.Where(r => r.Function == function).ToArray();
        }
    }
}
