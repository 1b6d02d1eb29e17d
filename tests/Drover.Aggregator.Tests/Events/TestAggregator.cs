using System.Net.Http.Headers;
using Drover.Aggregator.Access;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Tests.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serilog;

namespace Drover.Aggregator.Tests.Events;

/// <summary>
/// A real aggregator host (<see cref="AggregatorHost.Build"/>) on free loopback ports, with its data in a
/// temporary directory and a tokens file holding one admin and one read token; <see cref="Http"/> sends
/// the admin token.
/// </summary>
internal sealed class TestAggregator : IAsyncDisposable
{
    /// <summary>The bound on every await of these tests.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _data = new();
    private readonly TempDirectory _tokens = new();
    private readonly TimeProvider? _time;
    private readonly Serilog.ILogger _logger;
    private WebApplication _app;

    private TestAggregator(TimeProvider? time, Action<AggregatorOptions>? configure, Serilog.ILogger? logger)
    {
        _time = time;
        Options = new AggregatorOptions
        {
            ListenAddress = "127.0.0.1",
            HttpPort = Ports.Free(),
            LinkPort = Ports.Free(),
            DataDirectory = _data.Path,
            LogFile = "",

            // Plain text unless a test configures the link's certificates (LinkTlsAttackTests).
            Insecure = true,
            ApiTokensFile = System.IO.Path.Combine(_tokens.Path, "api-tokens.json"),
            ApiRequestsPerMinute = 0, // tests poll as fast as they like; the limit's own tests set it
        };
        ApiTokenFile.Write(Options.ApiTokensFile, [new ApiToken("test-admin", ApiRoles.Admin, ApiTokenFile.HashOf(AdminToken)), new ApiToken("test-read", ApiRoles.Read, ApiTokenFile.HashOf(ReadToken))]);
        configure?.Invoke(Options);
        AggregatorOptionsLoader.Validate(Options); // only what a user could configure
        _logger = logger ?? new LoggerConfiguration().CreateLogger();
        _app = AggregatorHost.Build(Options, _logger, time);
        Http = NewClient();
    }

    public AggregatorOptions Options { get; }

    /// <summary>A token of role admin in the host's tokens file (what <see cref="Http"/> sends).</summary>
    public string AdminToken { get; } = ApiTokenFile.NewToken();

    /// <summary>A token of role read in the host's tokens file.</summary>
    public string ReadToken { get; } = ApiTokenFile.NewToken();

    public HttpClient Http { get; private set; }

    public Uri LinkAddress => new($"http://127.0.0.1:{Options.LinkPort}");

    public EventHub Hub => _app.Services.GetRequiredService<EventHub>();

    public DecisionLog Decisions => _app.Services.GetRequiredService<DecisionLog>();

    public IServiceProvider Services => _app.Services;

    /// <param name="time">The host's clock; the system clock when null.</param>
    /// <param name="configure">Changes to the options (small limits) before the host is built, checked as at start-up; the ports and data directory are already set.</param>
    /// <param name="logger">Where the host logs; nowhere when null.</param>
    public static async Task<TestAggregator> StartAsync(TimeProvider? time = null, Action<AggregatorOptions>? configure = null, Serilog.ILogger? logger = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var aggregator = new TestAggregator(time, configure, logger);
            try
            {
                await aggregator._app.StartAsync().WaitAsync(Timeout);
                return aggregator;
            }
            catch (IOException e) when (attempt < 5 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                // A port free when asked was taken by another process before the bind: new ports.
                await aggregator.DisposeAsync();
            }
        }
    }

    /// <summary>Defines function <paramref name="name"/> (a placeholder command): status messages and instances are kept only for defined workloads.</summary>
    public async Task DefineFunctionAsync(string name)
    {
        using var put = await Http.PutAsync(
            $"/v1/functions/{name}",
            new StringContent("{\"runtime\": {\"type\": \"process\", \"command\": \"/bin/true\"}}", System.Text.Encoding.UTF8, "application/json"));
        put.EnsureSuccessStatusCode();
    }

    /// <summary>Polls <paramref name="condition"/> (on the real clock) until it holds; fails naming <paramref name="what"/> after <see cref="Timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var bound = new CancellationTokenSource(Timeout);
        while (!await condition())
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Not within {Timeout.TotalSeconds} s: {what}.");
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }

    /// <summary>
    /// Stops the aggregator and starts a new one on the same data directory, ports and clock, as a
    /// restart of the process does: what it kept in memory is gone, what it kept in its store is not.
    /// Agent streams break (connect again); <see cref="Http"/> is a new client.
    /// </summary>
    public async Task RestartAsync()
    {
        await _app.StopAsync().WaitAsync(Timeout);
        await _app.DisposeAsync();
        Http.Dispose();
        _app = AggregatorHost.Build(Options, _logger, _time);
        Http = NewClient();
        await _app.StartAsync().WaitAsync(Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync().WaitAsync(Timeout);
        await _app.DisposeAsync();
        _data.Dispose();
        _tokens.Dispose();
    }

    /// <summary>A client of the HTTP port that sends <paramref name="token"/> as its bearer token, or no Authorization header when null.</summary>
    public HttpClient ClientWith(string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Options.HttpPort}"), Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private HttpClient NewClient() => ClientWith(AdminToken);
}
