namespace Drover.Agent.LocalSocket;

/// <summary>Checks the (instance id, token) pair an instance registers with on the local socket.</summary>
internal interface IInstanceAuthenticator
{
    /// <summary>
    /// Whether <paramref name="token"/> is the current token of <paramref name="instanceId"/>.
    /// Implementations compare tokens in constant time and never throw for unknown ids.
    /// </summary>
    bool Authenticate(string instanceId, string token);
}
