using BenchmarkDotNet.Attributes;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Benchmarks.Fleet;

/// <summary>
/// <see cref="EventHub"/>'s publish of one status message to the <see cref="Subscribers"/> subscribers of its
/// channel (as the agents' relays and <c>GET /v1/events</c> streams subscribe): numbering, history (full, at the
/// default 10 000 per channel) and the hand-off into each subscriber's bounded buffer. The subscribers' own reading
/// is not measured: their buffers are emptied between iterations, outside the measurement.
/// </summary>
/// <remarks>
/// <see cref="PublishesPerIteration"/> publishes per iteration, fewer than a buffer holds, so no subscriber is ended.
/// Each buffer has grown to its size before the first iteration (its queue keeps its array once emptied), so the
/// allocation measured is the hub's, not the buffers' growth. No store: numbers are not reserved on disk.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10, invocationCount: PublishesPerIteration)]
public class EventFanOutBenchmarks
{
    private const int PublishesPerIteration = 4096;
    private const int Capacity = 2 * PublishesPerIteration;
    private const string Channel = "function/resize-image";

    private EventHub _hub = null!;
    private StatusEvent _event = null!;
    private IAsyncEnumerator<ChannelEvent>[] _readers = [];
    private ulong _read;

    [Params(1, 100, 1000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new AggregatorOptions();
        _hub = new EventHub(options.EventHistoryPerChannel, options.MaxEventChannels, NullLogger<EventHub>.Instance, maxSubscribers: Subscribers);
        _readers = Enumerable.Range(0, Subscribers)
            .Select(_ => _hub.Subscribe(EventFilter.Channel(Channel), capacity: Capacity).ReadAllAsync(CancellationToken.None).GetAsyncEnumerator())
            .ToArray();
        _event = new StatusEvent
        {
            Channel = Channel,
            CallId = "0f8e6c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
            Status = RequestStatus.Completed,
            Method = "POST",
            Path = "/v1/resize",
            NodeId = "node-04321",
            InstanceId = "resize-image-04321",
            StatusCode = 200,
            DurationMs = 41.5,
        };

        // Fill the history and grow every buffer to its capacity, emptying them in between.
        while (_hub.LastSequence(Channel) < (ulong)options.EventHistoryPerChannel + Capacity)
        {
            for (var i = 0; i < Capacity; i++)
            {
                _hub.Publish(_event);
            }

            Drain();
        }
    }

    [IterationSetup]
    public void EmptyBuffers() => Drain();

    [Benchmark]
    public ulong Publish() => _hub.Publish(_event)!.Sequence;

    /// <summary>Reads every subscriber's buffer up to the last number published; each read completes at once.</summary>
    private void Drain()
    {
        var last = _hub.LastSequence(Channel);
        foreach (var reader in _readers)
        {
            for (var sequence = _read + 1; sequence <= last; sequence++)
            {
                var next = reader.MoveNextAsync();
                if (!next.IsCompletedSuccessfully || !next.Result || reader.Current.Sequence != sequence)
                {
                    throw new InvalidOperationException($"A subscriber did not have message {sequence} ready.");
                }
            }
        }

        _read = last;
    }
}
