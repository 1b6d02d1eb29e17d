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
        var (certificate, ca, error) = LinkCertificates.LoadConfigured(
            options.LinkCertificateFile, options.LinkKeyFile, options.LinkCaFile, "a PEM certificate and its PEM private key");
        return error is null ? new LinkTls(certificate!, ca!) : throw new ConfigurationException(error);
    }

    private static void Require(string key, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ConfigurationException($"{key} is not set: the agent link is mutual TLS (see drover-aggregator certs init); set linkCertificateFile, linkKeyFile and linkCaFile, or insecure: true for plain text on a trusted network");
        }
    }
}
