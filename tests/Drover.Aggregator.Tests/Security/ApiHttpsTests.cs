using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Drover.Aggregator.Security;
using Drover.Aggregator.Tests.Events;
using Drover.Aggregator.Tests.State;
using Drover.Protocol.Security;

namespace Drover.Aggregator.Tests.Security;

/// <summary>Issue 14: with a certificate configured, the HTTP port (API, gateway, events) serves HTTPS only.</summary>
[Trait("Category", "Attacks")]
public sealed class ApiHttpsTests : IAsyncLifetime
{
    private readonly TempDirectory _certs = new();
    private TestAggregator? _aggregator;

    public async Task InitializeAsync()
    {
        CertificateAuthority.Init(_certs.Path, [], DateTimeOffset.UtcNow);
        _aggregator = await TestAggregator.StartAsync(configure: o =>
        {
            o.ApiCertificateFile = Path.Combine(_certs.Path, "aggregator.crt");
            o.ApiKeyFile = Path.Combine(_certs.Path, "aggregator.key");
        });
    }

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }

        _certs.Dispose();
    }

    [Fact]
    public async Task Api_WithACertificate_ServesHttpsVerifiedAgainstItsCaAndRefusesPlainHttp()
    {
        using var ca = LinkCertificates.LoadCa(Path.Combine(_certs.Path, "ca.crt"));
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _)
            => certificate is X509Certificate2 server && LinkCertificates.Verify(server, ca, LinkCertificates.ServerAuth, DateTimeOffset.UtcNow) is null;
        using var https = new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{_aggregator!.Options.HttpPort}"), Timeout = TestAggregator.Timeout };
        https.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _aggregator.ReadToken);

        using var answer = await https.GetAsync("/v1/nodes");
        var plain = await Record.ExceptionAsync(() => _aggregator.Http.GetAsync("/v1/nodes"));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.IsAssignableFrom<HttpRequestException>(plain);
    }
}
