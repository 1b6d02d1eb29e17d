using Drover.Protocol.Security;
using Drover.Protocol.V1;

namespace Drover.Gateway;

/// <summary>
/// Who may call through the gateway, and how the gateway proves to the nodes' shims that a request is
/// its own. Registered by the host; without one, every request passes and none carries a credential.
/// </summary>
public interface IGatewayAccess
{
    /// <summary>
    /// Whether a request for the function or service <paramref name="name"/> presenting
    /// <paramref name="key"/> (<see cref="Protocol.Http.DroverHeaders.ApiKey"/>; null when none) may pass.
    /// </summary>
    InvocationVerdict Check(WorkloadKind kind, string name, string? key);

    /// <summary>The fleet's shim credential, sent with every request the gateway forwards; null for none.</summary>
    string? ShimCredential { get; }
}
