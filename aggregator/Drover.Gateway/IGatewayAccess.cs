using Drover.Protocol.Security;

namespace Drover.Gateway;

/// <summary>
/// Who may call through the gateway, and how the gateway proves to the nodes' shims that a request is
/// its own. Registered by the host; without one, every request passes and none carries a credential.
/// </summary>
public interface IGatewayAccess
{
    /// <summary>
    /// Whether a request for <paramref name="workload"/> (a function's name, or <c>service/&lt;name&gt;</c>)
    /// presenting <paramref name="key"/> (<see cref="Protocol.Http.DroverHeaders.ApiKey"/>; null when none) may pass.
    /// </summary>
    InvocationVerdict Check(string workload, string? key);

    /// <summary>The fleet's shim credential, sent with every request the gateway forwards; null for none.</summary>
    string? ShimCredential { get; }
}
