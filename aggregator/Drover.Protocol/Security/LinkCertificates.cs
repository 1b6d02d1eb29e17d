using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Drover.Protocol.Security;

/// <summary>
/// The agent link's certificates, as both ends check them: one CA signs the aggregator's server
/// certificate and every agent's client certificate, and an agent's certificate names its node in
/// its common name. Both ends trust that CA only (not the system's roots), for the link only.
/// </summary>
public static class LinkCertificates
{
    /// <summary>The extended key usage of a server certificate (the aggregator's).</summary>
    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    /// <summary>The extended key usage of a client certificate (an agent's).</summary>
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>A certificate with its private key, from PEM files; <see cref="CryptographicException"/> or <see cref="IOException"/> naming the file when it cannot be read.</summary>
    public static X509Certificate2 LoadWithKey(string certificateFile, string keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);

        // Exported and loaded again: SslStream wants a key it can use from any thread, which a
        // certificate built from PEM only has once it went through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>
    /// One end's link configuration: its certificate with its key, and the link CA; or, when a file
    /// cannot be read, the error naming its configuration key (<c>linkCertificateFile</c> and
    /// <c>linkKeyFile</c>, or <c>linkCaFile</c>) and <paramref name="expected"/>'s words for the pair.
    /// </summary>
    public static (X509Certificate2? Certificate, X509Certificate2? Ca, string? Error) LoadConfigured(string certificateFile, string keyFile, string caFile, string expected)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = LoadWithKey(certificateFile, keyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return (null, null, $"linkCertificateFile = '{certificateFile}', linkKeyFile = '{keyFile}': cannot be loaded ({ex.Message}); expected {expected}");
        }

        try
        {
            return (certificate, LoadCa(caFile), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            certificate.Dispose();
            return (null, null, $"linkCaFile = '{caFile}': cannot be loaded ({ex.Message}); expected the link CA's PEM certificate (ca.crt)");
        }
    }

    /// <summary>A CA certificate from a PEM file (the first certificate in it).</summary>
    public static X509Certificate2 LoadCa(string file) => X509Certificate2.CreateFromPem(File.ReadAllText(file));

    /// <summary>
    /// Null when <paramref name="certificate"/> chains to <paramref name="ca"/>, is valid at
    /// <paramref name="now"/> and may be used for <paramref name="usage"/> (<see cref="ServerAuth"/>,
    /// <see cref="ClientAuth"/>); else why not, in a sentence.
    /// </summary>
    public static string? Verify(X509Certificate2 certificate, X509Certificate2 ca, Oid usage, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(usage);
        if (chain.Build(certificate))
        {
            return null;
        }

        var problems = chain.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct();
        return $"certificate '{certificate.Subject}' (valid {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}) is not accepted: {string.Join("; ", problems)}";
    }

    /// <summary>The node a client certificate names: its subject's common name.</summary>
    public static string NodeOf(X509Certificate2 certificate) => certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
}
