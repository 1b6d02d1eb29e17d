using Drover.Protocol.Nodes;
using Drover.Protocol.Snapshots;

namespace Drover.Agent.Configuration;

/// <summary>
/// drover-agent's configuration. Keys are camelCase in <c>/etc/drover/agent.json</c> (or the file
/// named by <c>--config</c>), <c>DROVER_&lt;KEY&gt;</c> in the environment (<c>DROVER_AGGREGATORS__0</c>
/// for list items), <c>--key value</c> on the command line; later sources win. Every key and its
/// default is listed in README.md.
/// </summary>
internal sealed class AgentOptions
{
    /// <summary>The node's number, unique inside its cluster (1-65535). Required.</summary>
    public int ServerNumber { get; set; }

    /// <summary>The node's shim port, sent in every heartbeat (1-65535).</summary>
    public int Port { get; set; } = 7411;

    /// <summary>The address the shim listens on at <see cref="Port"/>: an IPv4 or IPv6 address; loopback by default, 0.0.0.0 for every interface (a fleet of several hosts).</summary>
    public string ShimListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The cluster this node belongs to.</summary>
    public string Cluster { get; set; } = "default";

    /// <summary>Aggregator link addresses, tried in order; the next one after each broken stream. <c>https://</c> (mutual TLS) unless <see cref="Insecure"/>.</summary>
    public List<string> Aggregators { get; set; } = [];

    /// <summary>This node's client certificate on the link (PEM); its common name is the node id. Required unless <see cref="Insecure"/>.</summary>
    public string LinkCertificateFile { get; set; } = "";

    /// <summary>The private key of <see cref="LinkCertificateFile"/> (PEM).</summary>
    public string LinkKeyFile { get; set; } = "";

    /// <summary>The CA (PEM) the aggregator's server certificate must chain to.</summary>
    public string LinkCaFile { get; set; } = "";

    /// <summary>
    /// Dial the aggregator in plain text (<c>http://</c>) with no certificate on either side: anyone on
    /// the path can pose as the aggregator. Only on a trusted network; a warning is logged at every start.
    /// </summary>
    public bool Insecure { get; set; }

    /// <summary>
    /// The host name or address other nodes and the gateway reach this node's port at; empty for the
    /// address the aggregator sees the node's stream come from.
    /// </summary>
    public string AdvertiseAddress { get; set; } = "";

    /// <summary>
    /// The node's weight among the nodes of its cluster when traffic is shared (0-1000), sent in the
    /// Hello. An override set with <c>PUT /v1/nodes/{nodeId}</c> on the aggregator wins.
    /// </summary>
    public int Weight { get; set; } = NodeLimits.DefaultWeight;

    /// <summary>
    /// The node's priority, lower preferred (-1000..1000), sent in the Hello. An override set with
    /// <c>PUT /v1/nodes/{nodeId}</c> on the aggregator wins.
    /// </summary>
    public int Priority { get; set; } = NodeLimits.DefaultPriority;

    /// <summary>Free-form labels sent in the Hello.</summary>
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where the node id (and later, instance state) is kept.</summary>
    public string StateDirectory { get; set; } = "/var/lib/drover/agent";

    /// <summary>The rolling log file; empty for console only.</summary>
    public string LogFile { get; set; } = "/var/log/drover/agent.log";

    /// <summary>The minimum level logged: Verbose, Debug, Information, Warning, Error, Fatal.</summary>
    public string LogLevel { get; set; } = "Information";

    /// <summary>Heartbeat interval until the aggregator's Welcome names its own.</summary>
    public int HeartbeatIntervalMs { get; set; } = LinkDefaults.HeartbeatIntervalMs;

    /// <summary>The first reconnect delay after a broken stream.</summary>
    public int ReconnectInitialBackoffMs { get; set; } = 200;

    /// <summary>The longest reconnect delay.</summary>
    public int ReconnectMaxBackoffMs { get; set; } = 10_000;

    /// <summary>How long a connection attempt waits for the aggregator's Welcome.</summary>
    public int ConnectTimeoutMs { get; set; } = 5000;

    /// <summary>The NVML library to load; empty for the driver's soname <c>libnvidia-ml.so.1</c>.</summary>
    public string NvmlLibraryPath { get; set; } = "";

    /// <summary>How often every GPU is sampled and the sample sent.</summary>
    public int TelemetryIntervalMs { get; set; } = 1000;

    /// <summary>How often compute processes are listed (a call that costs milliseconds on real drivers).</summary>
    public int ProcessSampleIntervalMs { get; set; } = 10_000;

    /// <summary>How often lost GPUs (and NVML itself, when unavailable) are probed again.</summary>
    public int GpuReprobeIntervalMs { get; set; } = 10_000;

    /// <summary>How long one GPU's sample (its NVML calls) may take before that GPU is reported hung and the others are reported without it.</summary>
    public int NvmlCallTimeoutMs { get; set; } = 5000;

    /// <summary>How long an instance's GPU work report counts towards its GPU's command-queue length; older ones are ignored.</summary>
    public int ReportedQueueStalenessMs { get; set; } = 5000;

    /// <summary>
    /// How long an XID counts for a GPU's health after it arrived: a hardware XID keeps the GPU unhealthy,
    /// an unclassified one degraded, an application one is shown (see <c>GpuHealthTable</c>).
    /// </summary>
    public int XidHoldSeconds { get; set; } = 300;

    /// <summary>The local socket where instances register, report GPU work and ask for commits.</summary>
    public string LocalSocketPath { get; set; } = "/run/drover/agent.sock";

    /// <summary>
    /// The CUDA launch probe (native/cuda-probe) the agent preloads (LD_PRELOAD) into the instances of a function or
    /// service defined with <c>gpuProbe: true</c>. When the file is missing such instances run without it (a warning
    /// says so) and their GPUs' command queues are reported or estimated as before.
    /// </summary>
    public string GpuProbeLibraryPath { get; set; } = DefaultGpuProbeLibraryPath;

    /// <summary>Where the Debian package installs the probe.</summary>
    public const string DefaultGpuProbeLibraryPath = "/usr/lib/drover/libdrover-cuda-probe.so";

    /// <summary>
    /// Where the probed processes' pages go, one folder per instance (given to the instance's user), one mapped file per
    /// process: a memory file system (the runtime directory) is best, since they are written a thousand times a second.
    /// Empty (the default): <c>gpu-probe</c> beside <see cref="LocalSocketPath"/>, <c>/run/drover/gpu-probe</c>.
    /// </summary>
    public string GpuProbeDirectory { get; set; } = "";

    /// <summary>The folder of the probes' pages: <see cref="GpuProbeDirectory"/>, or its default.</summary>
    public string GpuProbeRoot => GpuProbeDirectory.Length > 0 ? GpuProbeDirectory : Path.Combine(Path.GetDirectoryName(LocalSocketPath) ?? "/run/drover", "gpu-probe");

    /// <summary>
    /// How long a probe's page may go without a publication before its counts are ignored: its process is hung or
    /// stopped (a live probe publishes at least every 100 ms). The GPU's queue then comes from its other sources.
    /// </summary>
    public int GpuProbeStalenessMs { get; set; } = 3000;

    /// <summary>The longest delay before a crashed instance is started again.</summary>
    public int InstanceRestartMaxBackoffMs { get; set; } = 10_000;

    /// <summary>How many quick crashes in a row fail an instance instead of restarting it.</summary>
    public int InstanceCrashLoopLimit { get; set; } = 5;

    /// <summary>
    /// How long a stopped instance's processes (its whole process group) get between SIGTERM and SIGKILL.
    /// </summary>
    public int InstanceStopGraceMs { get; set; } = 5000;

    /// <summary>
    /// The largest snapshot (tar archive) of an instance's state directory the agent commits. A larger
    /// directory is refused before the instance is frozen, with a warning and a failed status message
    /// on the instance's channel, and looked at again every minute until it fits. At most, and by
    /// default, <see cref="SnapshotLimits.MaxSnapshotBytes"/> (256 MiB): the largest the aggregator stores.
    /// </summary>
    public long MaxStateBytes { get; set; } = SnapshotLimits.MaxSnapshotBytes;

    /// <summary>
    /// The size at which an instance's <c>output.log</c> is rotated to <c>output.log.1</c> (one rotated
    /// file is kept, the older one is dropped). Default 16 MiB.
    /// </summary>
    public long OutputLogMaxBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// The runtime allowlist: what an instance may run. A StartInstance whose command (resolved to an
    /// absolute path without symbolic links) is not one of these executables, nor under one of these
    /// directories, is refused. Empty (the default): no instance may run, and the agent says so at start.
    /// </summary>
    public List<RuntimeEntry> Runtimes { get; set; } = [];

    /// <summary>Stop instances when the agent stops (otherwise they keep running and the next agent adopts them).</summary>
    public bool StopInstancesOnExit { get; set; }

    /// <summary>Serve Prometheus's text format at <c>GET /metrics</c> on the node's port (its own cost, link, shim queues, instances).</summary>
    public bool MetricsEnabled { get; set; } = true;

    /// <summary>
    /// A file holding the bearer token a scrape of <c>/metrics</c> must send (<c>Authorization: Bearer &lt;token&gt;</c>;
    /// Prometheus's <c>authorization: credentials_file</c>); read once at start. Empty (the default): no token asked,
    /// as for node_exporter, so keep the port where only the fleet's own network reaches it.
    /// </summary>
    public string MetricsTokenFile { get; set; } = "";

    /// <summary>The default aggregator address, used when none is configured: mutual TLS, or plain text when <see cref="Insecure"/>.</summary>
    public string DefaultAggregator => Insecure ? "http://127.0.0.1:7401" : "https://127.0.0.1:7401";

    public TimeSpan HeartbeatInterval => TimeSpan.FromMilliseconds(HeartbeatIntervalMs);

    public TimeSpan TelemetryInterval => TimeSpan.FromMilliseconds(TelemetryIntervalMs);

    public TimeSpan ProcessSampleInterval => TimeSpan.FromMilliseconds(ProcessSampleIntervalMs);

    public TimeSpan GpuReprobeInterval => TimeSpan.FromMilliseconds(GpuReprobeIntervalMs);

    public TimeSpan ReportedQueueStaleness => TimeSpan.FromMilliseconds(ReportedQueueStalenessMs);

    public TimeSpan GpuProbeStaleness => TimeSpan.FromMilliseconds(GpuProbeStalenessMs);

    public TimeSpan NvmlCallTimeout => TimeSpan.FromMilliseconds(NvmlCallTimeoutMs);
}
