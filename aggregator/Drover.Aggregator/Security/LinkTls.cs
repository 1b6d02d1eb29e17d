using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Drover.Aggregator.Configuration;
using Drover.Protocol.Security;

namespace Drover.Aggregator.Security;

/// <summary>
/// The agent link's TLS: the aggregator's server certificate, and the CA every agent's client
/// certificate must chain to. Null when the configuration says <c>insecure: true</c> (plain h2c).
/// </summary>
internal sealed class LinkTls(X509Certificate2 certificate, X509Certificate2 ca)
{
    public X509Certificate2 Certificate { get; } = certificate;

    public X509Certificate2 Ca { get; } = ca;

    /// <summary>The link's certificates as configured; null when insecure. <see cref="ConfigurationException"/> naming the key when one is missing or unreadable.</summary>
    public static LinkTls? Load(AggregatorOptions options)
    {
        if (options.Insecure)
        {
            return null;
        }

        Require("linkCertificateFile", options.LinkCertificateFile);
        Require("linkKeyFile", options.LinkKeyFile);
        Require("linkCaFile", options.LinkCaFile);
        X509Certificate2 certificate;
        try
        {
            certificate = LinkCertificates.LoadWithKey(options.LinkCertificateFile, options.LinkKeyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ConfigurationException($"linkCertificateFile = '{options.LinkCertificateFile}', linkKeyFile = '{options.LinkKeyFile}': cannot be loaded ({ex.Message}); expected a PEM certificate and its PEM private key");
        }

        try
        {
            return new LinkTls(certificate, LinkCertificates.LoadCa(options.LinkCaFile));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            certificate.Dispose();
            throw new ConfigurationException($"linkCaFile = '{options.LinkCaFile}': cannot be loaded ({ex.Message}); expected a PEM CA certificate");
        }
    }

    private static void Require(string key, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ConfigurationException($"{key} is not set: the agent link is mutual TLS (see drover-aggregator certs init); set linkCertificateFile, linkKeyFile and linkCaFile, or insecure: true for plain text on a trusted network");
        }
    }
}
