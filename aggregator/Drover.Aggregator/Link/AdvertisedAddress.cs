using System.Net;

namespace Drover.Aggregator.Link;

/// <summary>
/// Where a node may say it is reached (its Hello's <c>advertise_address</c>): the gateway sends that
/// node's requests there, so a node that could name any address could intercept traffic or point the
/// aggregator at internal services. Accepted: the address the node's connection comes from, an IP
/// inside one of the configured networks (<c>advertiseAddressesAllowed</c>), or a host name listed there
/// as it is. Nothing else.
/// </summary>
internal sealed class AdvertisedAddress
{
    private readonly IPNetwork[] _networks;
    private readonly HashSet<string> _hostNames;

    private AdvertisedAddress(IPNetwork[] networks, HashSet<string> hostNames)
    {
        _networks = networks;
        _hostNames = hostNames;
    }

    /// <summary>The policy of <paramref name="allowed"/> (CIDR networks, single IP addresses, host names); null with the bad entry's error.</summary>
    public static (AdvertisedAddress? Policy, string? Error) Parse(IEnumerable<string> allowed)
    {
        var networks = new List<IPNetwork>();
        var hostNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in allowed)
        {
            if (IPNetwork.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (entry.Length is > 0 and <= 255 && Uri.CheckHostName(entry) == UriHostNameType.Dns)
            {
                hostNames.Add(entry);
            }
            else
            {
                return (null, $"'{entry}' is neither a CIDR network (10.0.0.0/8), an IP address nor a host name");
            }
        }

        return (new AdvertisedAddress([.. networks], hostNames), null);
    }

    /// <summary>Null when <paramref name="advertised"/> may be used for a node connecting from <paramref name="remote"/>; else why not.</summary>
    public string? Check(string advertised, IPAddress? remote)
    {
        if (IPAddress.TryParse(advertised, out var address))
        {
            address = Normal(address);
            if ((remote is not null && address.Equals(Normal(remote))) || _networks.Any(n => n.Contains(address)))
            {
                return null;
            }
        }
        else if (_hostNames.Contains(advertised))
        {
            return null;
        }

        return $"hello.advertiseAddress = '{advertised}' is not accepted: it is not the address the connection comes from ('{(remote is null ? "unknown" : Normal(remote))}'), nor inside advertiseAddressesAllowed";
    }

    private static IPAddress Normal(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
