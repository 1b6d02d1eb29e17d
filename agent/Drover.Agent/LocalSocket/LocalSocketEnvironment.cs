namespace Drover.Agent.LocalSocket;

/// <summary>The environment variables through which an instance finds and joins the local socket.</summary>
internal static class LocalSocketEnvironment
{
    /// <summary>The local socket's path.</summary>
    public const string SocketPath = "DROVER_LOCAL_SOCKET";

    /// <summary>The instance's id, sent in Register.</summary>
    public const string InstanceId = "DROVER_INSTANCE_ID";

    /// <summary>The instance's token (<see cref="InstanceTokens.Issue"/>), sent in Register.</summary>
    public const string InstanceToken = "DROVER_INSTANCE_TOKEN";
}
