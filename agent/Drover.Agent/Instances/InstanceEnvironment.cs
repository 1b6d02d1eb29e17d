using System.Collections;
using System.Globalization;
using Drover.Agent.LocalSocket;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// The environment an instance's process gets: the agent's own, without what belongs to the agent
/// (DROVER_*, systemd's notify and watchdog variables), plus the spec's, plus what Drover gives every
/// instance: its state directory, id, local-socket token, function and kind, port and GPUs.
/// </summary>
internal sealed class InstanceEnvironment(int port, string token, string nodeId, string socketPath)
{
    private static readonly string[] AgentOnly = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

    public int Port { get; } = port;

    public string Token { get; } = token;

    public IReadOnlyDictionary<string, string> For(InstanceSpec spec, InstanceDirectory directory)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var key = (string)entry.Key;
            if (!key.StartsWith("DROVER_", StringComparison.Ordinal) && !AgentOnly.Contains(key))
            {
                environment[key] = (string?)entry.Value ?? "";
            }
        }

        foreach (var (key, value) in spec.Process.Env)
        {
            environment[key] = value;
        }

        var gpus = string.Join(',', spec.GpuUuids);
        environment["DROVER_STATE_DIR"] = directory.StatePath;
        environment[LocalSocketEnvironment.InstanceId] = directory.InstanceId;
        environment[LocalSocketEnvironment.InstanceToken] = Token;
        environment[LocalSocketEnvironment.SocketPath] = socketPath;
        environment["DROVER_FUNCTION"] = spec.Function;
        environment["DROVER_KIND"] = EventChannels.KindName(spec.Kind);
        environment["DROVER_NODE_ID"] = nodeId;
        environment["PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        environment["CUDA_VISIBLE_DEVICES"] = gpus;
        environment["NVIDIA_VISIBLE_DEVICES"] = gpus.Length == 0 ? "void" : gpus;
        return environment;
    }
}
