using Drover.Aggregator.Functions;
using Drover.Aggregator.Security;
using Drover.Aggregator.Services;
using Drover.Gateway;
using Drover.Protocol.Security;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Access;

/// <summary>
/// The gateway's rule (<see cref="IGatewayAccess"/>) from the definitions and the keys: a public
/// function or service passes; any other request needs one of its keys. A name that is not defined
/// has no keys and is not public, so it is refused like a private one: a refusal never says which.
/// </summary>
internal sealed class GatewayInvocationAccess(FunctionRegistry functions, ServiceRegistry services, InvocationKeyStore keys, ShimCredentialFile.Credential credential) : IGatewayAccess
{
    public string? ShimCredential => credential.Value;

    public InvocationVerdict Check(WorkloadKind kind, string name, string? key) => kind == WorkloadKind.Service
        ? InvocationKeys.Check(services.Find(name)?.Definition.Public == true, keys.HashesOf(WorkloadRef.OfService(name)), key)
        : InvocationKeys.Check(functions.Find(name)?.Public == true, keys.HashesOf(WorkloadRef.OfFunction(name)), key);
}
