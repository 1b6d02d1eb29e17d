using System.Collections.Concurrent;
using System.Diagnostics;

namespace Drover.SystemTests.Clusters;

/// <summary>
/// A steady idempotent load through the gateway: a few workers posting to one function in a loop,
/// each request with its own Idempotency-Key, every answer kept with the time it was sent (test clock).
/// </summary>
internal sealed class GatewayLoad : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly string _url;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<TimeSpan> _kills = new();
    private int _disposed;

    public GatewayLoad(int httpPort, string function, int workers)
    {
        _client = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        _url = $"http://127.0.0.1:{httpPort}/v1/invoke/{function}";
        _workers = Enumerable.Range(0, workers).Select(_ => Task.Run(RunAsync)).ToArray();
    }

    public ConcurrentQueue<Answer> Answers { get; } = new();

    /// <summary>Now, on the clock the answers' times are on.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>
    /// Every request that did not get its 200, but one whose answer was already under way when its node
    /// was killed (<see cref="MarkKill"/>): the client had the headers and the body broke off, which no
    /// gateway can repair (a retry would answer twice). A request in flight whose answer had not begun
    /// must still succeed, retried on another node.
    /// </summary>
    public IEnumerable<Answer> Failures => Answers.Where(a => a.Status != 200 && !CutByAKill(a));

    /// <summary>Answers cut mid-body by a kill, left out of <see cref="Failures"/>.</summary>
    public IEnumerable<Answer> CutMidAnswer => Answers.Where(CutByAKill);

    /// <summary>Notes that nodes are being killed now; returns the time on the answers' clock.</summary>
    public TimeSpan MarkKill()
    {
        var now = _clock.Elapsed;
        _kills.Enqueue(now);
        return now;
    }

    /// <summary>The clusters that answered requests sent at or after <paramref name="from"/>, with how many each.</summary>
    public Dictionary<string, int> ClustersSince(TimeSpan from)
        => Answers.Where(a => a.SentAt >= from && a.Status == 200).GroupBy(a => a.Cluster).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    public string Describe()
        => $"{Answers.Count} answers; failures: {string.Join("; ", Failures.Take(5).Select(f => $"{f.Status} at {f.SentAt.TotalSeconds:F2}s {f.Body}"))}; cut mid-answer by a kill: {CutMidAnswer.Count()}";

    /// <summary>Stops the workers and waits for them; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var sentAt = _clock.Elapsed;
            using var request = new HttpRequestMessage(HttpMethod.Post, _url);
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
            try
            {
                using var response = await _client.SendAsync(request, _stop.Token);
                var body = await response.Content.ReadAsStringAsync(_stop.Token);
                var cluster = response.Headers.TryGetValues("X-Drover-Cluster", out var values) ? values.First() : "";
                Answers.Enqueue(new Answer(sentAt, (int)response.StatusCode, cluster, body.Length <= 300 ? body : body[..300]));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ResponseEnded || ex.InnerException is IOException)
            {
                // The headers came, the body broke off ("Error while copying content to a stream").
                Answers.Enqueue(new Answer(sentAt, 0, "", ex.Message, BodyCut: true));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Answers.Enqueue(new Answer(sentAt, 0, "", ex.Message));
            }
        }
    }

    /// <summary>One answer: when its request was sent, its status (0: no answer), the cluster that served it.</summary>
    internal sealed record Answer(TimeSpan SentAt, int Status, string Cluster, string Body, bool BodyCut = false);

    private bool CutByAKill(Answer answer) => answer.BodyCut && _kills.Any(kill => answer.SentAt <= kill);
}
