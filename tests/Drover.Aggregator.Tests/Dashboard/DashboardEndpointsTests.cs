using System.Net;
using System.Net.Http.Headers;
using Drover.Aggregator.Dashboard;
using Drover.Aggregator.Tests.Events;

namespace Drover.Aggregator.Tests.Dashboard;

/// <summary>The dashboard's files on a real in-process aggregator: served without a token, with their types, policy and validators.</summary>
public sealed class DashboardEndpointsTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync() => _aggregator = await TestAggregator.StartAsync();

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/", "text/html; charset=utf-8")]
    [InlineData("/dashboard/app.js", "text/javascript; charset=utf-8")]
    [InlineData("/dashboard/api.js", "text/javascript; charset=utf-8")]
    [InlineData("/dashboard/events.js", "text/javascript; charset=utf-8")]
    [InlineData("/dashboard/chart.js", "text/javascript; charset=utf-8")]
    [InlineData("/dashboard/heatmap.js", "text/javascript; charset=utf-8")]
    [InlineData("/dashboard/history.js", "text/javascript; charset=utf-8")]
    [InlineData("/dashboard/dashboard.css", "text/css; charset=utf-8")]
    [InlineData("/dashboard/icon.svg", "image/svg+xml")]
    public async Task Get_NoToken_ServedWithTypePolicyAndValidator(string path, string contentType)
    {
        using var client = Aggregator.ClientWith(token: null);
        using var response = await client.GetAsync(path).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.ToString());
        Assert.Equal(DashboardEndpoints.ContentSecurityPolicy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.True(response.Headers.CacheControl?.NoCache, "Cache-Control: no-cache");
        Assert.NotNull(response.Headers.ETag);
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Get_SameETag_Answers304WithoutBody()
    {
        using var client = Aggregator.ClientWith(token: null);
        using var first = await client.GetAsync("/dashboard/app.js").WaitAsync(Timeout);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var response = await client.SendAsync(again).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Get_OtherETag_AnswersTheFile()
    {
        using var client = Aggregator.ClientWith(token: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"stale\""));

        using var response = await client.SendAsync(request).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<script type=\"module\" src=\"/dashboard/app.js\"></script>", await response.Content.ReadAsStringAsync().WaitAsync(Timeout), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Head_AnswersTheGetsHeadersWithoutBody()
    {
        using var client = Aggregator.ClientWith(token: null);
        using var get = await client.GetAsync("/dashboard/dashboard.css").WaitAsync(Timeout);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/dashboard/dashboard.css")).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentLength, head.Content.Headers.ContentLength);
        Assert.Equal(get.Headers.ETag, head.Headers.ETag);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync().WaitAsync(Timeout));
    }

    [Theory]
    [InlineData("/dashboard/missing.js")]
    [InlineData("/dashboard/index.html")] // the page is served at / only
    [InlineData("/dashboard/..%2Fappsettings.json")]
    public async Task Get_UnknownFile_404(string path)
    {
        using var client = Aggregator.ClientWith(token: null);
        using var response = await client.GetAsync(path).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Get_OnTheLinkPort_404()
    {
        using var client = new HttpClient { BaseAddress = Aggregator.LinkAddress, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.GetAsync("/").WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Post_ToThePage_405()
    {
        using var client = Aggregator.ClientWith(token: null);
        using var response = await client.PostAsync("/", new StringContent("")).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public void Files_EveryModuleThePageImports_IsEmbedded()
    {
        var files = DashboardFiles.Load(typeof(DashboardFiles).Assembly);
        var app = System.Text.Encoding.UTF8.GetString(files.Find("app.js")!.Content);

        var imported = System.Text.RegularExpressions.Regex.Matches(app, "from \"\\./([a-z]+\\.js)\"").Select(m => m.Groups[1].Value).ToArray();

        Assert.NotEmpty(imported);
        Assert.All(imported, name => Assert.NotNull(files.Find(name)));
        Assert.DoesNotContain(files.Names, name => DashboardFiles.ContentTypeOf(name) is null);
    }

    [Fact]
    public void Page_HasNoInlineScriptOrStyle()
    {
        var page = System.Text.Encoding.UTF8.GetString(DashboardFiles.Load().Find("index.html")!.Content);

        // The policy would block them: every script is a module file, every style in dashboard.css.
        Assert.DoesNotMatch("<script(?![^>]*\\ssrc=)", page);
        Assert.DoesNotContain("<style", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch("\\sstyle=", page);
        Assert.DoesNotMatch("\\son[a-z]+=", page);
    }
}
