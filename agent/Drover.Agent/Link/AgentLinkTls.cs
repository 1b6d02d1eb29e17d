using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Drover.Agent.Configuration;
using Drover.Protocol.Security;

namespace Drover.Agent.Link;

/// <summary>
/// The agent's side of the link's mutual TLS: the client certificate that names this node (its
/// common name is the node id), and the CA the aggregator's server certificate must chain to.
/// </summary>
internal sealed class AgentLinkTls(X509Certificate2 certificate, X509Certificate2 ca)
{
    public X509Certificate2 Certificate { get; } = certificate;

    public X509Certificate2 Ca { get; } = ca;

    /// <summary>The node the certificate names: this agent's node id.</summary>
    public string Node => LinkCertificates.NodeOf(Certificate);

    /// <summary>The link's certificates as configured; null when insecure. <see cref="ConfigurationException"/> naming the key when one is missing or unreadable.</summary>
    public static AgentLinkTls? Load(AgentOptions options)
    {
        if (options.Insecure)
        {
            return null;
        }

        var (certificate, ca, error) = LinkCertificates.LoadConfigured(
            options.LinkCertificateFile, options.LinkKeyFile, options.LinkCaFile, "this node's PEM certificate and its PEM private key (drover-aggregator certs issue --node NAME)");
        return error is null ? new AgentLinkTls(certificate!, ca!) : throw new ConfigurationException(error);
    }

    /// <summary>
    /// The handler's TLS: this node's certificate offered, the aggregator's accepted only when it
    /// chains to the link CA, is meant for a server, and names the host dialled.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(TimeProvider time, Action<string> refused) => new()
    {
        ClientCertificates = [Certificate],
        RemoteCertificateValidationCallback = (_, presented, _, errors) =>
        {
            // Chain errors are expected (the CA is not in the system's store): the chain is built
            // against the link CA here. A certificate for another host name is not the aggregator's.
            string? why = presented is not X509Certificate2 server ? "the aggregator presented no certificate"
                : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 ? $"certificate '{server.Subject}' does not name the host dialled"
                : LinkCertificates.Verify(server, Ca, LinkCertificates.ServerAuth, time.GetUtcNow());
            if (why is not null)
            {
                refused(why);
            }

            return why is null;
        },
    };
}
