using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Drover.Agent.Shims;

/// <summary>
/// HTTP/1.1 and prior-knowledge HTTP/2 (h2c) on one cleartext port. Kestrel picks HTTP/1.1 for every
/// cleartext connection of an <c>Http1AndHttp2</c> endpoint, since there is no ALPN to choose by
/// (https://github.com/dotnet/aspnetcore/issues/56984, fix proposed in dotnet/aspnetcore#67782).
/// This connection middleware does what that fix does: it looks at the first bytes, and a connection
/// that opens with the 24-byte HTTP/2 connection preface (RFC 9113 §3.4) is marked as if ALPN had
/// chosen "h2". Nothing is consumed: Kestrel reads the bytes again. Remove once Kestrel does it.
/// </summary>
internal static class H2cPrefaceDetector
{
    /// <summary>How long the first bytes may take before the connection goes to Kestrel undecided (as HTTP/1.1).</summary>
    public static readonly TimeSpan FirstBytesTimeout = TimeSpan.FromSeconds(10);

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(TimeProvider time) => next => async connection =>
    {
        // Kestrel's own timeouts start only once it reads the connection: a client that sends nothing
        // is let through after FirstBytesTimeout, to meet them.
        using var deadline = new CancellationTokenSource(FirstBytesTimeout, time);
        using var firstBytes = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, deadline.Token);
        if (await StartsWithPrefaceAsync(connection.Transport.Input, firstBytes.Token))
        {
            // Kestrel selects HTTP/2 for a "TLS" connection whose ALPN said h2. The transport scheme
            // this implies is overridden by the request's own :scheme (AllowAlternateSchemes).
            connection.Features.Set<ITlsConnectionFeature>(Cleartext.Instance);
            connection.Features.Set<ITlsApplicationProtocolFeature>(Cleartext.Instance);
        }

        await next(connection);
    };

    /// <summary>True once 24 bytes match the preface; false at the first byte that does not (or at the end of the input).</summary>
    internal static async Task<bool> StartsWithPrefaceAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            var buffer = result.Buffer;
            var length = (int)Math.Min(buffer.Length, Preface.Length);
            var seen = buffer.Slice(0, length).ToArray();
            var matches = seen.AsSpan().SequenceEqual(Preface.AsSpan(0, length));
            if (!matches || length == Preface.Length || result.IsCompleted)
            {
                // Decided: leave every byte unread (and unexamined) for Kestrel.
                input.AdvanceTo(buffer.Start);
                return matches && length == Preface.Length;
            }

            // A prefix of the preface so far: wait for more bytes.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private sealed class Cleartext : ITlsConnectionFeature, ITlsApplicationProtocolFeature
    {
        public static readonly Cleartext Instance = new();

        public X509Certificate2? ClientCertificate { get; set; }

        public ReadOnlyMemory<byte> ApplicationProtocol => SslApplicationProtocol.Http2.Protocol;

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);
    }
}
