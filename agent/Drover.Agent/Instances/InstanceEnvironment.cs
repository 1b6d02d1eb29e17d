using System.Collections;
using System.Globalization;
using Drover.Agent.LocalSocket;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// The environment an instance's process gets: the agent's own, without what belongs to the agent
/// (DROVER_*, systemd's notify and watchdog variables), plus the spec's, plus what Drover gives every
/// instance: its state directory, id, local-socket token, function and kind, port and GPUs; and, for a spec with
/// <c>gpu_probe</c>, the CUDA launch probe (<paramref name="probe"/>, when the agent has one installed).
/// </summary>
internal sealed class InstanceEnvironment(int port, string token, string nodeId, string socketPath, GpuProbeInjection? probe = null)
{
    private static readonly string[] AgentOnly = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

    /// <summary>
    /// The variables the agent sets for every instance, over anything the spec says: a spec that sets
    /// one is refused (<see cref="InstanceSpecValidator"/>), whatever the allowlist.
    /// </summary>
    public static readonly IReadOnlySet<string> AgentSet = new HashSet<string>(StringComparer.Ordinal)
    {
        StateDirectory, LocalSocketEnvironment.InstanceId, LocalSocketEnvironment.InstanceToken, LocalSocketEnvironment.SocketPath,
        Function, Kind, NodeId, OutputLog, "PORT", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
    };

    /// <summary>Where the instance's output goes: read by the start script, not by the instance.</summary>
    public const string OutputLog = "DROVER_OUTPUT_LOG";

    private const string StateDirectory = "DROVER_STATE_DIR";
    private const string Function = "DROVER_FUNCTION";
    private const string Kind = "DROVER_KIND";
    private const string NodeId = "DROVER_NODE_ID";

    private int _port = port;

    /// <summary>The instance's port; a new one when something else took it before the instance started (<see cref="MovePort"/>).</summary>
    public int Port => Volatile.Read(ref _port);

    /// <summary>Gives the instance <paramref name="port"/> from its next start on.</summary>
    public void MovePort(int port) => Volatile.Write(ref _port, port);

    public string Token { get; } = token;

    /// <summary>The probe's library, when the agent has one configured.</summary>
    public string? ProbeLibraryPath => probe?.LibraryPath;

    /// <summary>Whether a process of <paramref name="spec"/> gets the probe: asked for, and installed.</summary>
    public bool Probed(InstanceSpec spec) => spec.GpuProbe && probe is { Installed: true };

    /// <summary>
    /// The environment of a process of <paramref name="spec"/>, which runs as <paramref name="user"/> (null: the agent's);
    /// the probe's folder is created first when the process gets the probe.
    /// </summary>
    public IReadOnlyDictionary<string, string> For(InstanceSpec spec, InstanceDirectory directory, RuntimeUser? user = null)
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
        environment[StateDirectory] = directory.StatePath;
        environment[LocalSocketEnvironment.InstanceId] = directory.InstanceId;
        environment[LocalSocketEnvironment.InstanceToken] = Token;
        environment[LocalSocketEnvironment.SocketPath] = socketPath;
        environment[Function] = spec.Function;
        environment[Kind] = EventChannels.KindName(spec.Kind);
        environment[NodeId] = nodeId;
        environment["PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        environment["CUDA_VISIBLE_DEVICES"] = gpus;
        environment["NVIDIA_VISIBLE_DEVICES"] = gpus.Length == 0 ? "void" : gpus;
        if (probe is not null && Probed(spec))
        {
            probe.Prepare(directory.InstanceId, user);
            probe.Apply(environment, directory.InstanceId);
        }

        return environment;
    }
}
