using System.Net.Http.Json;
using Drover.SystemTests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Drover.SystemTests.Dashboard;

/// <summary>
/// Issue 19's dashboard in a real browser: Debian's chromium, headless, driven by Playwright's .NET driver (the node
/// and driver its package ships; no browser is downloaded), against a real aggregator and real agents on the stand-in
/// NVML. Every check waits for what the page shows, with generous bounds; none times anything.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>The bound on each wait for the page: the page polls every 1.5 s, a node is lost after a few missed heartbeats.</summary>
    private const float WaitMs = 90_000;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private readonly Fleet _fleet = new(output);
    /// <summary>Uncaught errors of the pages, and what they logged as failures of their own.</summary>
    private readonly List<string> _pageErrors = [];
    private readonly List<(string Name, IPage Page)> _pages = [];
    private volatile bool _ended;

    /// <summary>Where the screenshots go: beside the test assembly (the test output), in <c>screenshots/</c>.</summary>
    private static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _ended = true;
        await _fleet.DisposeAsync();
    }

    [ChromiumFact]
    public async Task Dashboard_RealFleet_ShowsItLive_ANodeLost_ARefusedToken_AndAnUnreachableAggregator()
    {
        try
        {
            await RunAsync();
        }
        catch
        {
            // What each page showed when the test failed, for the post-mortem.
            foreach (var (name, page) in _pages)
            {
                try
                {
                    await ScreenshotAsync(page, $"failed-{name}.png");
                    Log($"[{name}] connection: {await page.TextContentAsync("#connection", new() { Timeout = 5000 })}; problem: {await page.TextContentAsync("#problem", new() { Timeout = 5000 })}");
                }
                catch (PlaywrightException ex)
                {
                    Log($"[{name}] no screenshot: {ex.Message}");
                }
            }

            throw;
        }
    }

    private async Task RunAsync()
    {
        var aggregator = _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
        for (var i = 1; i <= 3; i++)
        {
            _fleet.StartAgent($"a{i}", serverNumber: i, gpus: new GpuScenario(2), extraArgs: ["--shimListenAddress", "127.0.0.1"]);
        }

        await _fleet.WaitForAliveCountAsync(3, Timeout);
        var nodes = Enumerable.Range(1, 3).Select(i => _fleet.NodeIdOf($"a{i}")).ToArray();

        // Autoscaled, so the chart has a desired count to draw beside the running one; public, so the test calls it without a key.
        using (var put = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", new
        {
            runtime = new { type = "process", command = Repository.Counter },
            @public = true,
            slo = 2,
            minInstances = 1,
            maxInstances = 2,
            commitIntervalSeconds = 0,
        }))
        {
            Assert.True(put.IsSuccessStatusCode, $"PUT counter: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
            Timeout = WaitMs,
        });
        var dashboard = $"http://127.0.0.1:{_fleet.HttpPort}/";

        // The fleet, live, with the read token from the fragment.
        var page = await NewPageAsync(browser, "main");
        await page.GotoAsync($"{dashboard}#token={Uri.EscapeDataString(_fleet.ReadToken)}");
        await page.WaitForSelectorAsync("#connection[data-state='live']");
        Assert.DoesNotContain("token=", page.Url, StringComparison.Ordinal); // taken out of the address bar once read
        await page.WaitForSelectorAsync("#clusters tr[data-cluster='c1'][data-health='healthy']");
        await WaitForTextAsync(page, "#clusters tr[data-cluster='c1'] td.survivors", "3 / 2");

        // The heat map: every node's two GPUs, with the stand-in's utilization (10% and 20%), then their memory used.
        await page.WaitForFunctionAsync($"n => document.querySelectorAll(\"#nodes tr[data-survival='alive'] li.gpu\").length === n", 2 * nodes.Length);
        var first = $"#nodes tr[data-node='{nodes[0]}'] li.gpu[data-gpu='0']";
        await WaitForTextAsync(page, first, "10%");
        await WaitForTextAsync(page, $"#nodes tr[data-node='{nodes[0]}'] li.gpu[data-gpu='1']", "20%");
        Assert.Contains("utilization 10%", await page.GetAttributeAsync(first, "aria-label"), StringComparison.Ordinal);
        await page.CheckAsync("#measure input[value='memory']");
        await WaitForTextAsync(page, first, "1.0 GiB");
        await page.CheckAsync("#measure input[value='utilization']");

        // The function: its row and its charts, drawn from several polls of live data.
        await page.WaitForSelectorAsync("#functions tr[data-function='counter']");
        await page.WaitForFunctionAsync(
            """
            () => ["running", "desired"].every(series => {
                const path = document.querySelector(`#charts figure[data-function='counter'] svg.instances path[data-series='${series}']`);
                return path && Number(path.getAttribute("data-points")) >= 3 && /^M[\d.]+,[\d.]+[HVL]/.test(path.getAttribute("d"));
            })
            """);
        await WaitForTextAsync(page, "#functions tr[data-function='counter'] td:nth-child(5)", "1");
        Assert.Contains("running", await page.GetAttributeAsync("#charts figure[data-function='counter'] svg.instances", "aria-label"), StringComparison.Ordinal);

        // The event stream, read with the token through fetch: a call's status messages appear in the list.
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            await Fleet.WaitUntilAsync(
                async () =>
                {
                    using var call = await client.PostAsync($"{dashboard}v1/invoke/counter", null);
                    return call.IsSuccessStatusCode && await page.Locator("#events li[data-event='completed']").CountAsync() > 0;
                },
                Timeout,
                "a call's 'completed' event is listed on the page");
        }

        Assert.Contains("function counter", await page.Locator("#events li[data-event='completed']").First.TextContentAsync(), StringComparison.Ordinal);

        // An agent SIGKILLed: its node shows lost, its GPUs greyed with their last known values, the cluster one survivor down.
        _fleet.AgentProcesses("a3").Kill();
        await page.WaitForSelectorAsync($"#nodes tr[data-node='{nodes[2]}'][data-survival='lost']");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll(\"#nodes tr[data-node='{nodes[2]}'] li.gpu.stale\").length === 2");
        await WaitForTextAsync(page, "#clusters tr[data-cluster='c1'] td.survivors", "2 / 2");
        Assert.Equal(4, await page.Locator("#nodes tr[data-survival='alive'] li.gpu").CountAsync());
        var screenshot = await ScreenshotAsync(page, "dashboard.png");
        Assert.Empty(_pageErrors);

        // A refused token: the page says so, asks for another, and goes live with a good one.
        var refused = await NewPageAsync(browser, "refused");
        await refused.GotoAsync(dashboard);
        await refused.WaitForSelectorAsync("#connection[data-state='needs-token']");
        Assert.Contains("needs a token (401)", await refused.TextContentAsync("#problem"), StringComparison.Ordinal);
        await refused.GotoAsync($"{dashboard}#token=drv_not-a-token-of-this-aggregator");
        await refused.WaitForSelectorAsync("#connection[data-state='refused']");
        Assert.Contains("refused the token (401)", await refused.TextContentAsync("#problem"), StringComparison.Ordinal);
        Assert.True(await refused.IsVisibleAsync("#token-form"), "the token form is shown");
        Assert.False(await refused.IsVisibleAsync("#fleet"), "no fleet is shown");
        await ScreenshotAsync(refused, "dashboard-refused.png");
        await refused.FillAsync("#token-input", _fleet.ReadToken);
        await refused.ClickAsync("#token-form button[type='submit']");
        await refused.WaitForSelectorAsync("#connection[data-state='live']");
        await refused.WaitForSelectorAsync($"#nodes tr[data-node='{nodes[0]}'] li.gpu");

        // The aggregator gone: the page says it cannot be reached, and keeps what it showed, greyed.
        aggregator.Kill();
        await page.WaitForSelectorAsync("#connection[data-state='unreachable']");
        Assert.Contains("cannot be reached", await page.TextContentAsync("#problem"), StringComparison.Ordinal);
        Assert.True(await page.IsVisibleAsync($"#nodes tr[data-node='{nodes[0]}']"), "the last fleet shown stays");
        await ScreenshotAsync(page, "dashboard-unreachable.png");
        output.WriteLine($"Screenshot: {screenshot}");
    }

    [ChromiumFact]
    public async Task Modules_InTheBrowser_ParseTheEventStreamSplitAnywhere_AndBreakChartLinesAtGaps()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumFactAttribute.Executable, Headless = true, Timeout = WaitMs });
        var page = await NewPageAsync(browser, "modules");
        await page.GotoAsync($"http://127.0.0.1:{_fleet.HttpPort}/");

        // The stream as the aggregator writes it (LF), and with CRLF and CR line ends, fed whole and cut at every
        // position: the same events each time, comments and keep-alives skipped, the last id carried.
        var parsed = await page.EvaluateAsync<string[]>(
            """
            async () => {
                const { SseParser } = await import("/dashboard/events.js");
                const stream = 'id: c:1\nevent: accepted\ndata: {"n":1}\n\n: keep-alive\n\nevent: cluster-health\ndata: two\ndata: lines\n\nid: c:2\ndata:{"n":3}\n\n';
                const results = [];
                for (const text of [stream, stream.replaceAll("\n", "\r\n"), stream.replaceAll("\n", "\r")]) {
                    for (let cut = 0; cut <= text.length; cut++) {
                        const parser = new SseParser();
                        const events = [];
                        parser.push(text.slice(0, cut), e => events.push(e));
                        parser.push(text.slice(cut), e => events.push(e));
                        results.push(events.map(e => `${e.id}|${e.event}|${e.data}`).join(";"));
                    }
                }
                return [...new Set(results)];
            }
            """);
        Assert.Equal(["c:1|accepted|{\"n\":1};c:1|cluster-health|two\nlines;c:2|message|{\"n\":3}"], parsed);

        // A gap of more than gapMs between samples starts a new segment; a null (no desired count) is skipped.
        var path = await page.EvaluateAsync<string>(
            """
            async () => {
                const { pathData } = await import("/dashboard/chart.js");
                const points = [{ at: 0, value: 1 }, { at: 1000, value: 2 }, { at: 9000, value: 2 }, { at: 10000, value: null }, { at: 11000, value: 3 }];
                return pathData(points, at => at / 1000, v => v, { step: true, gapMs: 4000 });
            }
            """);
        Assert.Equal("M0.0,1.0H1.0V2.0M9.0,2.0M11.0,3.0", path);
        Assert.Empty(_pageErrors);
    }

    private async Task<IPage> NewPageAsync(IBrowser browser, string name)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1100 } });
        var page = await context.NewPageAsync();
        _pages.Add((name, page));
        page.SetDefaultTimeout(WaitMs);
        page.Console += (_, message) =>
        {
            // The page logs what it could not show as "dashboard: <error>" (and says so on the page).
            if (message.Type == "error" && message.Text.StartsWith("dashboard:", StringComparison.Ordinal))
            {
                lock (_pageErrors)
                {
                    _pageErrors.Add(message.Text);
                }
            }

            Log($"[{name} console {message.Type}] {message.Text}");
        };
        page.PageError += (_, error) =>
        {
            lock (_pageErrors)
            {
                _pageErrors.Add(error);
            }

            Log($"[{name} page error] {error}");
        };
        return page;
    }

    /// <summary>Waits until the first element of <paramref name="selector"/> holds <paramref name="text"/>.</summary>
    private static Task WaitForTextAsync(IPage page, string selector, string text)
        => page.WaitForFunctionAsync(
            "([selector, text]) => document.querySelector(selector)?.textContent.includes(text) === true",
            new[] { selector, text });

    private async Task<string> ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Log($"Screenshot: {path}");
        return path;
    }

    /// <summary>The test's output, while the test runs (a page may still log after it ended).</summary>
    private void Log(string line)
    {
        if (_ended)
        {
            return;
        }

        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
