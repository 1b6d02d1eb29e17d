using Drover.Aggregator.Balancers.Haproxy;
using Drover.Decisions.Balancing;

namespace Drover.Aggregator.Balancers;

/// <summary>
/// A registered HAProxy backend as a container balancer: read with <c>show servers state</c>, written with
/// <c>set server &lt;backend&gt;/&lt;server&gt; weight</c> and <c>state</c>. An entry's weight is the server's user
/// weight (<c>srv_uweight</c>, what <c>set server ... weight</c> sets); its state the administrative one.
/// </summary>
internal sealed class HaproxyBalancer(BalancerRegistration registration, TimeSpan timeout) : IContainerBalancer
{
    private readonly HaproxyRuntimeClient _client = new(HaproxyAddress.Parse(registration.RuntimeApi), timeout);

    public string Description => $"HAProxy backend '{registration.Backend}' at {registration.RuntimeApi}";

    public async Task<IReadOnlyList<ContainerServer>> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var servers = await _client.ShowServersAsync(registration.Backend, cancellationToken);
            if (servers.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                throw new ContainerBalancerException($"{Description}: server '{twice.Key}' is listed {twice.Count()} times by 'show servers state'; a table names each server once");
            }

            return servers.Select(s => new ContainerServer(new LbEntry(s.Name, s.UserWeight, StateOf(s.Admin)), s.Address)).ToArray();
        }
        catch (HaproxyRuntimeException ex)
        {
            throw new ContainerBalancerException($"{Description}: {ex.Message}", ex);
        }
    }

    public async Task ApplyAsync(IReadOnlyList<(LbEntry From, LbEntry To)> changes, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (from, to) in changes)
            {
                if (from.Weight != to.Weight)
                {
                    await _client.SetWeightAsync(registration.Backend, to.Id, to.Weight, cancellationToken);
                }

                if (from.State != to.State)
                {
                    await _client.SetAdminAsync(registration.Backend, to.Id, AdminOf(to.State), cancellationToken);
                }
            }
        }
        catch (HaproxyRuntimeException ex)
        {
            throw new ContainerBalancerException($"{Description}: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            // A server name the client will not send (longer than it takes, say): refused like a failed write.
            throw new ContainerBalancerException($"{Description}: {ex.Message}", ex);
        }
    }

    private static LbEntryState StateOf(HaproxyServerAdmin admin) => admin switch
    {
        HaproxyServerAdmin.Maint => LbEntryState.Maint,
        HaproxyServerAdmin.Drain => LbEntryState.Drain,
        _ => LbEntryState.Ready,
    };

    private static HaproxyServerAdmin AdminOf(LbEntryState state) => state switch
    {
        LbEntryState.Maint => HaproxyServerAdmin.Maint,
        LbEntryState.Drain => HaproxyServerAdmin.Drain,
        _ => HaproxyServerAdmin.Ready,
    };
}
