using Drover.Decisions.Balancing;

namespace Drover.Aggregator.Balancers;

/// <summary>
/// A balancer in front of a service's containers that Drover reads and writes (an HAProxy backend through its
/// Runtime API): where a service's table is acquired from, and where its generated table is provided to.
/// </summary>
internal interface IContainerBalancer
{
    /// <summary>What it is, for errors and logs: its kind, backend and address.</summary>
    string Description { get; }

    /// <summary>Its servers as it has them now, in its order; throws <see cref="ContainerBalancerException"/> when it cannot be read or answers garbage.</summary>
    Task<IReadOnlyList<ContainerServer>> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Sets each entry's weight and state where they differ from <c>From</c> (what was read); throws <see cref="ContainerBalancerException"/> at the first refusal.</summary>
    Task ApplyAsync(IReadOnlyList<(LbEntry From, LbEntry To)> changes, CancellationToken cancellationToken);
}

/// <summary>One server of a container balancer: its entry (name, weight, state) and its address (host, no port).</summary>
internal sealed record ContainerServer(LbEntry Entry, string Address);

/// <summary>A container balancer could not be read or written; the message names it and what went wrong.</summary>
internal sealed class ContainerBalancerException(string message, Exception? inner = null) : Exception(message, inner);
