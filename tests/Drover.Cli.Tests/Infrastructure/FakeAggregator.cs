using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Drover.Cli.Tests.Infrastructure;

/// <summary>
/// A small HTTP server on a free loopback port that answers as the test says and records every request: what
/// droverctl is tested against, without an aggregator.
/// </summary>
internal sealed class FakeAggregator : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, Task> _handler;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();

    public FakeAggregator(Func<HttpListenerContext, Task> handler)
    {
        _handler = handler;
        for (var attempt = 0; ; attempt++)
        {
            Port = Drover.Testing.Ports.Free();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // Taken in between: another port.
            }
        }

        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Every request: method, path and query, Authorization header, body.</summary>
    public ConcurrentQueue<(string Method, string PathAndQuery, string? Authorization, string Body)> Requests { get; } = new();

    /// <summary>A server that answers each path with the status and JSON given for it, and 404 for any other.</summary>
    public static FakeAggregator Answering(params (string PathAndQuery, int Status, string Json)[] answers)
        => new(context =>
        {
            var path = context.Request.Url!.PathAndQuery;
            var (_, status, json) = answers.FirstOrDefault(a => a.PathAndQuery == path);
            return status == 0
                ? WriteAsync(context, 404, """{"title":"No such thing","status":404,"detail":"nothing here"}""", "application/problem+json")
                : WriteAsync(context, status, json, status >= 400 ? "application/problem+json" : "application/json");
        });

    public static async Task WriteAsync(HttpListenerContext context, int status, string body, string contentType = "application/json")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                Requests.Enqueue((context.Request.HttpMethod, context.Request.Url!.PathAndQuery, context.Request.Headers["Authorization"], body));
                try
                {
                    await _handler(context);
                }
                catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
                {
                    // The client went away.
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        await _loop;
        _stop.Dispose();
    }
}
