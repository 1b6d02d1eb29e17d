using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Drover.Protocol;
using Drover.Protocol.Security;

namespace Drover.Aggregator.Security;

/// <summary>
/// A small CA for the agent link, for operators without a PKI: <c>drover-aggregator certs init</c>
/// creates it (and the aggregator's server certificate), <c>certs issue --node NAME</c> a node's
/// client certificate. Keys are ECDSA P-256, written 0600 and never overwritten; certificates 0644.
/// Files in the directory: <c>ca.crt</c>, <c>ca.key</c>, <c>aggregator.crt</c>, <c>aggregator.key</c>,
/// and <c>NAME.crt</c>, <c>NAME.key</c> per node.
/// </summary>
internal static class CertificateAuthority
{
    public const string CaCertificate = "ca.crt";
    public const string CaKey = "ca.key";
    public const string ServerName = "aggregator";

    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3650);
    public static readonly TimeSpan Validity = TimeSpan.FromDays(825);

    /// <summary>Creates the CA and the aggregator's certificate (for <paramref name="hosts"/>, plus localhost and the loopback addresses) in <paramref name="directory"/>.</summary>
    /// <exception cref="IOException">A file is already there: nothing is overwritten.</exception>
    public static void Init(string directory, IEnumerable<string> hosts, DateTimeOffset now)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Drover link CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        using var ca = request.CreateSelfSigned(now.AddMinutes(-5), now + CaValidity);
        Write(Path.Combine(directory, CaKey), key.ExportPkcs8PrivateKeyPem(), secret: true);
        Write(Path.Combine(directory, CaCertificate), ca.ExportCertificatePem(), secret: false);
        Issue(directory, ServerName, server: true, ["localhost", "127.0.0.1", "::1", .. hosts], now, Validity);
    }

    /// <summary>
    /// Issues a certificate signed by the CA in <paramref name="directory"/>: a node's client certificate
    /// naming <paramref name="name"/>, or the aggregator's server certificate for <paramref name="hosts"/>.
    /// Returns the certificate's and the key's paths.
    /// </summary>
    public static (string Certificate, string Key) Issue(string directory, string name, bool server, IReadOnlyCollection<string> hosts, DateTimeOffset now, TimeSpan validity)
    {
        using var ca = LinkCertificates.LoadWithKey(Path.Combine(directory, CaCertificate), Path.Combine(directory, CaKey));
        var (certificate, key) = Create(ca, name, server, hosts, now, validity);
        using (certificate)
        using (key)
        {
            var paths = (Path.Combine(directory, $"{name}.crt"), Path.Combine(directory, $"{name}.key"));
            Write(paths.Item2, key.ExportPkcs8PrivateKeyPem(), secret: true);
            Write(paths.Item1, certificate.ExportCertificatePem(), secret: false);
            return paths;
        }
    }

    /// <summary>
    /// A certificate signed by <paramref name="ca"/> (loaded with its key), and its new key, in memory: what
    /// <see cref="Issue"/> writes, and what the fleet simulator gives each of its thousands of agents.
    /// </summary>
    public static (X509Certificate2 Certificate, ECDsa Key) Create(X509Certificate2 ca, string name, bool server, IReadOnlyCollection<string> hosts, DateTimeOffset now, TimeSpan validity)
    {
        if (!Names.IsId(name))
        {
            throw new ArgumentException($"'{name}' is not a node name: 1-64 characters of A-Z a-z 0-9 . _ -", nameof(name));
        }

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([server ? LinkCertificates.ServerAuth : LinkCertificates.ClientAuth], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in server ? hosts : [])
        {
            if (IPAddress.TryParse(host, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        if (server)
        {
            request.CertificateExtensions.Add(names.Build());
        }

        var notAfter = now + validity;
        if (notAfter > ca.NotAfter)
        {
            notAfter = ca.NotAfter;
        }

        return (request.Create(ca, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16)), key);
    }

    /// <summary>Writes a new file (never over one), 0600 when <paramref name="secret"/>, from its creation on.</summary>
    private static void Write(string path, string pem, bool secret)
    {
        var mode = secret
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode });
        using var writer = new StreamWriter(stream);
        writer.Write(pem);
        writer.Write('\n');
    }
}
