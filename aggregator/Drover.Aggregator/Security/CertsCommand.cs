using System.Security.Cryptography;

namespace Drover.Aggregator.Security;

/// <summary>
/// <c>drover-aggregator certs init [--dir DIR] [--host HOST]...</c> and
/// <c>drover-aggregator certs issue --node NAME [--dir DIR]</c>: the link's CA for operators without
/// a PKI (<see cref="CertificateAuthority"/>). Exit 0 on success, 64 (usage) or 73 (cannot create) otherwise.
/// </summary>
internal static class CertsCommand
{
    public const string DefaultDirectory = "/etc/drover/certs";

    private const int Usage = 64;
    private const int CannotCreate = 73;

    private const string Help = """
        usage: drover-aggregator certs init [--dir DIR] [--host HOST]...
                 creates DIR/ca.crt, DIR/ca.key and the aggregator's DIR/aggregator.crt, DIR/aggregator.key
                 (valid for localhost, 127.0.0.1, ::1 and every HOST the agents dial)
               drover-aggregator certs issue --node NAME [--dir DIR]
                 creates DIR/NAME.crt and DIR/NAME.key: the client certificate of node NAME
        DIR defaults to /etc/drover/certs. Keys are written 0600; nothing is overwritten.
        """;

    public static int Run(string[] args, TextWriter output, TextWriter error, DateTimeOffset now)
    {
        if (args.Length == 0 || args[0] is not ("init" or "issue"))
        {
            error.WriteLine(Help);
            return Usage;
        }

        var directory = DefaultDirectory;
        string? node = null;
        var hosts = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            if (i + 1 >= args.Length || args[i] is not ("--dir" or "--node" or "--host"))
            {
                error.WriteLine($"drover-aggregator certs: unexpected '{args[i]}'");
                error.WriteLine(Help);
                return Usage;
            }

            var value = args[++i];
            switch (args[i - 1])
            {
                case "--dir":
                    directory = value;
                    break;
                case "--node":
                    node = value;
                    break;
                default:
                    hosts.Add(value);
                    break;
            }
        }

        try
        {
            if (args[0] == "init")
            {
                CertificateAuthority.Init(directory, hosts, now);
                output.WriteLine($"Created the link CA and the aggregator's certificate in {Path.GetFullPath(directory)}: ca.crt, ca.key (0600), aggregator.crt, aggregator.key (0600).");
                return ExitCodes.Success;
            }

            if (node is null)
            {
                error.WriteLine("drover-aggregator certs issue: --node NAME is required");
                return Usage;
            }

            var (certificate, key) = CertificateAuthority.Issue(directory, node, server: false, [], now, CertificateAuthority.Validity);
            output.WriteLine($"Issued node '{node}''s certificate: {certificate} and {key} (0600). The agent uses them as linkCertificateFile and linkKeyFile, with ca.crt as linkCaFile; its node id is '{node}'.");
            return ExitCodes.Success;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            error.WriteLine($"drover-aggregator certs {args[0]}: {ex.Message}");
            return ex is ArgumentException ? Usage : CannotCreate;
        }
    }
}
