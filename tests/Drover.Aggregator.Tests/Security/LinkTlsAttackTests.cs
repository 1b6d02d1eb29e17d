using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Security;
using Drover.Aggregator.Tests.Events;
using Drover.Aggregator.Tests.State;
using Drover.Protocol.Security;
using Drover.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Security;

/// <summary>
/// Issue 14: the agent link over mutual TLS, attacked through a real in-process aggregator. Only a
/// certificate from the link CA, valid now, gets a stream, and only for the node it names; every
/// refusal is logged with its cause and leaves the node table as it was.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class LinkTlsAttackTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;
    private readonly TempDirectory _certs = new();
    private readonly TempDirectory _foreign = new();
    private readonly RecordingSink _log = new(output);
    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow;

        // The CA from 60 days ago, so that it can have issued a certificate that expired since.
        CertificateAuthority.Init(_certs.Path, [], now.AddDays(-60));
        CertificateAuthority.Issue(_certs.Path, "a1", server: false, [], now, CertificateAuthority.Validity);
        CertificateAuthority.Issue(_certs.Path, "expired", server: false, [], now.AddDays(-40), TimeSpan.FromDays(30));
        CertificateAuthority.Init(_foreign.Path, [], now);
        CertificateAuthority.Issue(_foreign.Path, "a1", server: false, [], now, CertificateAuthority.Validity);
        _aggregator = await TestAggregator.StartAsync(
            configure: o =>
            {
                o.Insecure = false;
                o.LinkCertificateFile = Path.Combine(_certs.Path, "aggregator.crt");
                o.LinkKeyFile = Path.Combine(_certs.Path, "aggregator.key");
                o.LinkCaFile = Path.Combine(_certs.Path, "ca.crt");
            },
            logger: _log.CreateLogger());
    }

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }

        _certs.Dispose();
        _foreign.Dispose();
    }

    private X509Certificate2 Certificate(string directory, string name)
        => LinkCertificates.LoadWithKey(Path.Combine(directory, $"{name}.crt"), Path.Combine(directory, $"{name}.key"));

    /// <summary>
    /// Sends a Hello for <paramref name="nodeId"/> over TLS presenting <paramref name="certificate"/>:
    /// the refusal (a status from the aggregator, or the connection closed in the TLS handshake: with
    /// TLS 1.3 the client learns its certificate was refused only when the server closes), or null when welcomed.
    /// </summary>
    private async Task<Exception?> HelloAsync(X509Certificate2? certificate, string nodeId)
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{Aggregator.Options.LinkPort}", new GrpcChannelOptions { HttpHandler = handler });
        try
        {
            using var call = new AgentLink.AgentLinkClient(channel).Connect();
            await call.RequestStream.WriteAsync(new AgentMessage
            {
                Hello = new Hello { NodeId = nodeId, ServerNumber = 1, Port = 7411, Cluster = "c1", AgentVersion = "test", Hostname = nodeId },
            }).WaitAsync(Timeout);
            Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Timeout));
            Assert.Equal(AggregatorMessage.KindOneofCase.Welcome, call.ResponseStream.Current.KindCase);
            await call.RequestStream.CompleteAsync().WaitAsync(Timeout);
            return null;
        }
        catch (Exception ex) when (ex is RpcException or HttpRequestException or IOException)
        {
            output.WriteLine($"Refused: {ex.GetType().Name} {ex.Message}");
            return ex;
        }
    }

    private IReadOnlyList<NodeView> Nodes => Aggregator.Services.GetRequiredService<NodeTable>().Snapshot();

    private bool Logged(string text)
        => _log.Events.Any(e => e.RenderMessage(CultureInfo.InvariantCulture).Contains(text, StringComparison.Ordinal));

    [Fact]
    public async Task Hello_NodesOwnCertificate_Welcomed()
    {
        using var certificate = Certificate(_certs.Path, "a1");

        Assert.Null(await HelloAsync(certificate, "a1"));

        Assert.Equal("a1", Assert.Single(Nodes).NodeId);
    }

    [Fact]
    public async Task Link_NoCertificate_RefusedAtTheHandshake()
    {
        var refused = await HelloAsync(null, "a1");

        Assert.NotNull(refused);
        Assert.Empty(Nodes);
    }

    [Theory]
    [InlineData("another CA")]
    [InlineData("self-signed")]
    [InlineData("expired")]
    public async Task Link_CertificateNotFromTheLinkCaOrNotValidNow_RefusedAndLogged(string kind)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = kind switch
        {
            "another CA" => Certificate(_foreign.Path, "a1"),
            "expired" => Certificate(_certs.Path, "expired"),
            _ => SelfSigned(key, "a1"),
        };

        var refused = await HelloAsync(certificate, "a1");

        Assert.NotNull(refused);
        Assert.Empty(Nodes);
        Assert.True(Logged("Link TLS: a client certificate was refused"), "the refusal is logged with its cause");
    }

    /// <summary>An impostor with a certificate of its own, claiming a live node: refused, and the live node keeps its stream.</summary>
    [Fact]
    public async Task Hello_ForAnotherNodeThanTheCertificates_PermissionDeniedAndTheNodeUntouched()
    {
        CertificateAuthority.Issue(_certs.Path, "a2", server: false, [], DateTimeOffset.UtcNow, CertificateAuthority.Validity);
        using var a1 = Certificate(_certs.Path, "a1");
        using var a2 = Certificate(_certs.Path, "a2");
        Assert.Null(await HelloAsync(a1, "a1"));
        var before = Assert.Single(Nodes);

        var refused = Assert.IsType<RpcException>(await HelloAsync(a2, "a1"));

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal("hello.nodeId = 'a1' is not the node of the connection's certificate ('a2')", refused.Status.Detail);
        Assert.Equal(before.Identity, Assert.Single(Nodes).Identity);
        Assert.True(Logged("is not the node of the connection's certificate"));
    }

    private static X509Certificate2 SelfSigned(ECDsa key, string name)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([LinkCertificates.ClientAuth], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }
}
