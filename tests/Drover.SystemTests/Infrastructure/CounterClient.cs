using System.Net.Http.Json;
using System.Text.Json;

namespace Drover.SystemTests.Infrastructure;

/// <summary>
/// Calls the counter sample on its instance's port: <c>POST /</c> counts one and answers the count.
/// The tests that use it differ in how long one call may take, how long they wait for a counter that
/// does not answer yet, and whether a call that timed out (and so may have counted) is tried again.
/// </summary>
/// <param name="callTimeout">How long one call may take.</param>
/// <param name="upTimeout">How long <see cref="PostWhenUpAsync"/> tries before it fails the test.</param>
/// <param name="retryTimedOut">
/// Whether <see cref="PostWhenUpAsync"/> tries again after a call that timed out; when false the
/// timeout fails the test. A refused connection (the counter not listening yet) is always tried again.
/// </param>
internal sealed class CounterClient(TimeSpan callTimeout, TimeSpan upTimeout, bool retryTimedOut) : IDisposable
{
    /// <summary>The client the calls go through, for the counter's other requests (<c>/commit</c>, <c>?crash=1</c>).</summary>
    public HttpClient Http { get; } = new() { Timeout = callTimeout };

    /// <summary>One <c>POST /</c>: the count after it.</summary>
    public async Task<long> PostAsync(int port)
    {
        using var response = await Http.PostAsync($"http://127.0.0.1:{port}/", null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt64();
    }

    /// <summary>Posts until the counter answers (it may be starting, or restarting elsewhere): the count after the call that did.</summary>
    public async Task<long> PostWhenUpAsync(int port)
    {
        long count = 0;
        await Fleet.WaitUntilAsync(
            async () =>
            {
                try
                {
                    count = await PostAsync(port);
                    return true;
                }
                catch (Exception ex) when (ex is HttpRequestException || (retryTimedOut && ex is TaskCanceledException))
                {
                    return false;
                }
            },
            upTimeout,
            $"the counter answers on port {port}");
        return count;
    }

    public void Dispose() => Http.Dispose();
}
