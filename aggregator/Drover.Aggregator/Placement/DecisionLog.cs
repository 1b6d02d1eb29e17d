using System.Text.Json;
using Drover.Aggregator.Events;
using Drover.Protocol;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace Drover.Aggregator.Placement;

/// <summary>
/// The last placement decisions (bounded), newest last, for the API and for people. Each decision of
/// a function is also published on its event channel <c>decisions/&lt;function&gt;</c>, in the order it
/// was added, as the API shows it.
/// </summary>
/// <param name="hub">Where decisions are published; none when null.</param>
/// <param name="json">The HTTP API's JSON settings: the event carries the document the decisions API writes.</param>
internal sealed class DecisionLog(EventHub? hub = null, IOptions<HttpJsonOptions>? json = null)
{
    public const int Capacity = 1000;

    private readonly JsonSerializerOptions _json = json?.Value.SerializerOptions ?? new(JsonSerializerDefaults.Web);

    private readonly Lock _gate = new();
    private readonly Queue<DecisionRecord> _records = new();
    private readonly Dictionary<string, long> _totals = new(StringComparer.Ordinal);

    public void Add(DecisionRecord record)
    {
        lock (_gate)
        {
            _records.Enqueue(record);
            _totals[record.Kind] = _totals.GetValueOrDefault(record.Kind) + 1;
            while (_records.Count > Capacity)
            {
                _records.Dequeue();
            }

            // Under the lock, so the channel numbers decisions in the log's order; publishing never waits.
            if (hub is not null && Names.IsName(record.Function))
            {
                hub.PublishDecision(record.Function, JsonSerializer.SerializeToUtf8Bytes(record, _json));
            }
        }
    }

    /// <summary>How many decisions of each kind were added since the start (not only those kept).</summary>
    public IReadOnlyDictionary<string, long> Totals()
    {
        lock (_gate)
        {
            return new Dictionary<string, long>(_totals, StringComparer.Ordinal);
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
