using Drover.Aggregator.Balancers.Haproxy;
using Drover.Protocol;

namespace Drover.Aggregator.Balancers;

/// <summary>Checks a balancer registration where it enters; the first bad field is named with its value and what is accepted.</summary>
internal static class BalancerValidator
{
    /// <summary>The most servers a registration may place.</summary>
    public const int MaxServers = 1024;

    /// <summary>Null when the registration is acceptable, else (field, message).</summary>
    public static (string Field, string Message)? Validate(BalancerRegistration registration)
    {
        if (!Names.IsName(registration.Name))
        {
            return ("name", $"name = '{registration.Name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        if (registration.Kind != BalancerRegistration.Haproxy)
        {
            return ("kind", $"kind = '{registration.Kind}': expected '{BalancerRegistration.Haproxy}'");
        }

        if (!HaproxyAddress.TryParse(registration.RuntimeApi, out _, out var addressError))
        {
            return ("runtimeApi", addressError ?? $"runtimeApi = '{registration.RuntimeApi}': expected unix:/path/to/haproxy.sock or tcp:host:port");
        }

        if (!Names.IsId(registration.Backend))
        {
            return ("backend", $"backend = '{registration.Backend}': expected an HAProxy backend's name, 1-64 characters of A-Z a-z 0-9 . _ -");
        }

        if (!Names.IsName(registration.Service))
        {
            return ("service", $"service = '{registration.Service}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        if (!Names.IsId(registration.Policy))
        {
            return ("policy", $"policy = '{registration.Policy}': expected the backend's balance algorithm as HAProxy names it (roundrobin, leastconn, ...), 1-64 characters of A-Z a-z 0-9 . _ -");
        }

        if (registration.Servers.Count > MaxServers)
        {
            return ("servers", $"servers names {registration.Servers.Count} servers: expected at most {MaxServers}");
        }

        foreach (var (server, placement) in registration.Servers)
        {
            if (!Names.IsId(server))
            {
                return ("servers", $"servers has '{server}': expected an HAProxy server's name, 1-64 characters of A-Z a-z 0-9 . _ -");
            }

            if (placement is null)
            {
                return ($"servers.{server}", $"servers.{server} is null: expected an object with node, site or dbShard");
            }

            if (placement.Node is { } node && !Names.IsId(node))
            {
                return ($"servers.{server}.node", $"servers.{server}.node = '{node}': expected a node id, 1-64 characters of A-Z a-z 0-9 . _ -");
            }

            if ((LbLabels.Check($"servers.{server}.site", placement.Site) ?? LbLabels.Check($"servers.{server}.dbShard", placement.DbShard)) is { } labelError)
            {
                return labelError;
            }
        }

        return null;
    }
}
