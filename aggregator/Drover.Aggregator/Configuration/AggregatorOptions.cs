using Drover.Protocol.Nodes;

namespace Drover.Aggregator.Configuration;

/// <summary>
/// drover-aggregator's configuration. Keys are camelCase in <c>/etc/drover/aggregator.json</c>,
/// <c>DROVER_AGGREGATOR_&lt;KEY&gt;</c> in the environment, <c>--key value</c> on the command line.
/// Every key and its default is listed in README.md.
/// </summary>
internal sealed class AggregatorOptions
{
    /// <summary>The address both listeners bind to.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The HTTP API's port (HTTP/1.1, cleartext; the agents' link is on <see cref="LinkPort"/>).</summary>
    public int HttpPort { get; set; } = 7400;

    /// <summary>The agent link's port (gRPC over HTTP/2: mutual TLS, or cleartext with <see cref="Insecure"/>).</summary>
    public int LinkPort { get; set; } = 7401;

    /// <summary>The aggregator's server certificate on the link (PEM); required unless <see cref="Insecure"/>.</summary>
    public string LinkCertificateFile { get; set; } = "";

    /// <summary>The private key of <see cref="LinkCertificateFile"/> (PEM).</summary>
    public string LinkKeyFile { get; set; } = "";

    /// <summary>The CA (PEM) every agent's client certificate must chain to; the certificate's common name is the node id.</summary>
    public string LinkCaFile { get; set; } = "";

    /// <summary>
    /// Serve the link in plain text, with no certificate on either side: anyone who reaches the port
    /// can claim to be any node. Only on a trusted network; a warning is logged at every start.
    /// </summary>
    public bool Insecure { get; set; }

    /// <summary>How often agents heartbeat; sent to them in Welcome.</summary>
    public int HeartbeatIntervalMs { get; set; } = LinkDefaults.HeartbeatIntervalMs;

    /// <summary>How many whole heartbeat intervals a node may miss before it is lost.</summary>
    public int MissedHeartbeats { get; set; } = LinkDefaults.MissedHeartbeats;

    /// <summary>The longest time between two liveness evaluations.</summary>
    public int MonitorPeriodMs { get; set; } = 1000;

    /// <summary>How often registered balancers are read and the load-balancing tables coordinated (issue 18).</summary>
    public int BalancerPollPeriodMs { get; set; } = 2000;

    /// <summary>The longest one read or write of a balancer's Runtime API may take.</summary>
    public int BalancerTimeoutMs { get; set; } = 1000;

    /// <summary>
    /// The most series <c>/metrics</c> keeps per instrument (OpenTelemetry's cardinality limit); the rest fold into one
    /// series labelled <c>otel_metric_overflow</c>. Each per-GPU instrument needs one per GPU of the fleet: the default
    /// covers 20,000 GPUs, 2,500 eight-GPU hosts (OpenTelemetry's own default, 2,000, would fold a fleet past 250 such
    /// hosts into one series). Room is reserved up front but untouched until series fill it.
    /// </summary>
    public int MetricsSeriesLimit { get; set; } = 20_000;

    /// <summary>
    /// How long a survival probe (sent every <see cref="MonitorPeriodMs"/> on each agent's stream) may
    /// go unanswered before the node no longer survives.
    /// </summary>
    public int ProbeTimeoutMs { get; set; } = 1000;

    /// <summary>How long a new stream may take to send its Hello.</summary>
    public int HelloTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// How long a sender (a start, a stop, a restore chunk, a relayed event) may wait for room in an
    /// agent's outbox (256 messages). An agent whose outbox stays full that long is not reading its
    /// stream: the stream is aborted, the node counts as disconnected, and what it missed is sent again
    /// once it reconnects. Sends to one node never wait on another's.
    /// </summary>
    public int LinkSendTimeoutMs { get; set; } = 5000;

    /// <summary>
    /// The most nodes one cluster may hold (live or lost, until forgotten). A Hello of a new node id in a
    /// full cluster is refused: made-up node ids cannot inflate a cluster's total and push it into failover.
    /// </summary>
    public int MaxNodesPerCluster { get; set; } = 1000;

    /// <summary>
    /// Where nodes may say they are reached (<c>advertiseAddress</c> in their Hello) besides the address
    /// their connection comes from: CIDR networks (<c>10.0.0.0/8</c>), IP addresses, or host names as
    /// written. Empty: only the connection's own address.
    /// </summary>
    public string[] AdvertiseAddressesAllowed { get; set; } = [];

    /// <summary>
    /// After a restart, how long the nodes of the assignments loaded from the store have to reconnect
    /// before they count as lost and their instances resume elsewhere (at least one lease). An agent
    /// retries with backoff of up to <c>reconnectMaxBackoffMs</c> (10 s by default), and it may have
    /// backed off through several failed tries while the aggregator was down: the default leaves room
    /// for the longest backoff and a lease.
    /// </summary>
    public int RestartGraceMs { get; set; } = 15_000;

    /// <summary>
    /// How long the link port's HTTP/2 connections may receive nothing before Kestrel pings the peer
    /// (<c>Limits.Http2.KeepAlivePingDelay</c>). With <see cref="LinkKeepAlivePingTimeoutMs"/> it bounds
    /// how long a half-open agent connection (a host gone without a FIN) holds its stream: the
    /// connection closes at most delay + timeout after the last frame received.
    /// </summary>
    public int LinkKeepAlivePingDelayMs { get; set; } = 10_000;

    /// <summary>How long a keep-alive ping may go unanswered before Kestrel closes the connection (<c>Limits.Http2.KeepAlivePingTimeout</c>).</summary>
    public int LinkKeepAlivePingTimeoutMs { get; set; } = 20_000;

    /// <summary>
    /// The most connections the HTTP port (API, event stream, gateway) holds at once; a connection
    /// beyond it is closed as soon as it is accepted.
    /// </summary>
    public int HttpMaxConnections { get; set; } = 10_000;

    /// <summary>
    /// How long a client of the HTTP port (API, event stream, gateway) may take to send a request's
    /// line and headers, counted from its first byte (<c>Limits.RequestHeadersTimeout</c>): a client
    /// that trickles them (Slowloris) is answered 408 and its connection closed after this long, so
    /// <see cref="HttpMaxConnections"/> such clients cannot hold the port for longer.
    /// </summary>
    public int RequestHeadersTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// The most connections the link port holds at once (one per agent, plus any reconnecting while its
    /// old connection closes); a connection beyond it is closed as soon as it is accepted.
    /// </summary>
    public int LinkMaxConnections { get; set; } = 10_000;

    /// <summary>How many status messages each event channel keeps for subscribers that resume.</summary>
    public int EventHistoryPerChannel { get; set; } = 10_000;

    /// <summary>
    /// How many event channels are kept. At the limit a message on a channel not kept yet is refused
    /// (and logged), so nothing already numbered and kept is lost to make room; existing channels go on.
    /// </summary>
    public int MaxEventChannels { get; set; } = 10_000;

    /// <summary>
    /// How many event subscribers may be connected at once (every subscriber counts, agents' relays
    /// included); beyond it a new <c>GET /v1/events</c> is answered 503 with a problem naming the limit.
    /// </summary>
    public int MaxEventSubscribers { get; set; } = 256;

    /// <summary>
    /// How many snapshot uploads one node may have in progress at once; a further upload is refused
    /// (the agent sees the reason in its ack and retries later). The aggregator-wide limit of 64 stays.
    /// </summary>
    public int UploadsPerNode { get; set; } = 4;

    /// <summary>
    /// How many bytes one node's snapshot uploads in progress may declare together (the sum of their
    /// total sizes, reserved when each starts); an upload that would pass it is refused. At least the
    /// largest snapshot (256 MiB), so any one snapshot can always be uploaded alone.
    /// </summary>
    public long UploadBytesPerNode { get; set; } = 1L << 30;

    /// <summary>How many of the newest committed state versions are kept per instance; older ones are deleted with the commit that makes them surplus.</summary>
    public int StateVersionsKept { get; set; } = 3;

    /// <summary>
    /// How long the committed state of an instance the aggregator no longer knows (its function was
    /// deleted, or it was scaled away and forgotten) is kept before it is deleted. Counted from when the
    /// aggregator first saw it unknown, so a restart starts the count again. At least 10 minutes: after a
    /// restart the instance table fills only as nodes reconnect, and their instances must not look forgotten.
    /// </summary>
    public int DeletedStateGraceSeconds { get; set; } = 24 * 60 * 60;

    /// <summary>
    /// How long a lost node with no instance assigned to it keeps its row (counted from its last
    /// heartbeat) before it is forgotten. A node some instance is assigned to is never forgotten, so
    /// its instances stay resumable. Its weight and priority override is kept.
    /// </summary>
    public int LostNodeRetentionSeconds { get; set; } = 60 * 60;

    /// <summary>A cluster's survival threshold is <c>ceil(nodes × ratio)</c> unless the cluster sets its own.</summary>
    public double MinimumSurvivalRatio { get; set; } = 0.5;

    /// <summary>How many monitoring periods a recovered cluster stays healthy before its traffic and tasks move back.</summary>
    public int FailbackPeriods { get; set; } = 3;

    /// <summary>With no healthy cluster, serve from the best unhealthy one (marked degraded) rather than refuse.</summary>
    public bool FailOpen { get; set; } = true;

    /// <summary>How many health transitions each cluster's history keeps.</summary>
    public int ClusterHistory { get; set; } = 1000;

    /// <summary>The gateway's retry and ejection settings (<c>gateway:retryBackoffMs</c>, ...).</summary>
    public Drover.Gateway.GatewayOptions Gateway { get; set; } = new();

    /// <summary>Serve the gateway (<c>/v1/invoke/...</c>, <c>/v1/services/{name}/...</c>) on the HTTP port.</summary>
    public bool GatewayEnabled { get; set; } = true;

    /// <summary>Clusters by name: weight, priority, role, group, thresholds.</summary>
    public Dictionary<string, ClusterOptions> Clusters { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Cluster groups by name: their backup mode.</summary>
    public Dictionary<string, ClusterGroupOptions> ClusterGroups { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The tokens file of the management API: <c>{"tokens": [{"name", "role", "sha256"}]}</c>, mode 0600,
    /// written by <c>drover-aggregator tokens add</c>. Read at start; a missing file means no tokens, and
    /// then every management request is refused 401 (unless <see cref="InsecureApi"/>).
    /// </summary>
    public string ApiTokensFile { get; set; } = "/etc/drover/api-tokens.json";

    /// <summary>
    /// Serve the management API to anyone who reaches the HTTP port, without a token, as admin. For a
    /// loopback-only development aggregator; a warning is logged at every start.
    /// </summary>
    public bool InsecureApi { get; set; }

    /// <summary>
    /// How many management API requests one client address may send a minute (fixed window), refused
    /// ones included; beyond it 429. 0: no limit. The gateway is not limited by it.
    /// </summary>
    public int ApiRequestsPerMinute { get; set; } = 6000;

    /// <summary>
    /// The address the HTTP port (the API, the gateway, the events) binds to; empty: <see cref="ListenAddress"/>.
    /// Plain HTTP is served on a loopback address only: any other needs <see cref="ApiCertificateFile"/>.
    /// </summary>
    public string ApiListenAddress { get; set; } = "";

    /// <summary>The HTTP port's server certificate (PEM): with it, the port serves HTTPS only.</summary>
    public string ApiCertificateFile { get; set; } = "";

    /// <summary>The private key of <see cref="ApiCertificateFile"/> (PEM).</summary>
    public string ApiKeyFile { get; set; } = "";

    /// <summary>The address the HTTP port binds to: <see cref="ApiListenAddress"/>, else <see cref="ListenAddress"/>.</summary>
    public string ApiAddress => ApiListenAddress.Length > 0 ? ApiListenAddress : ListenAddress;

    /// <summary>Where the aggregator keeps its data.</summary>
    public string DataDirectory { get; set; } = "/var/lib/drover/aggregator";

    /// <summary>
    /// Where committed state, assignments and the decision memory are kept: <c>sqlite</c> (<c>state.db</c> in
    /// <see cref="DataDirectory"/>, nothing to run) or <c>postgres</c> (the database of
    /// <see cref="PostgresConnectionStringFile"/>, which several aggregators can share). See <see cref="State.StateStores"/>.
    /// </summary>
    public string Store { get; set; } = State.StateStores.Sqlite;

    /// <summary>
    /// With <c>store: postgres</c>, a file holding the Npgsql connection string
    /// (<c>Host=db;Port=5432;Database=drover;Username=drover;Password=...</c>): a file, not a value, since it holds a
    /// password; read at start, and refused when group or others may read it (expected mode 0600).
    /// </summary>
    public string PostgresConnectionStringFile { get; set; } = "";

    /// <summary>
    /// With <c>store: postgres</c>, how long an elected leader's lease lasts in the database's clock. The leader renews
    /// it every sixth of this; a leader that cannot renew within it exits (and is restarted as a follower), and a
    /// follower takes over once it lapses: the bound on a failover is about this plus a follower's poll (a quarter of
    /// a renewal).
    /// </summary>
    public int LeaderLeaseMs { get; set; } = 3000;

    /// <summary>
    /// Where agents reach this aggregator's link, as they dial it (<c>https://host:7401</c>): what a follower's
    /// Redirect names when this aggregator leads. Empty: <c>http(s)://&lt;listenAddress, or the host name when it is
    /// 0.0.0.0 or ::&gt;:&lt;linkPort&gt;</c>.
    /// </summary>
    public string AdvertisedLinkUrl { get; set; } = "";

    /// <summary>
    /// Where the other aggregators reach this one's HTTP API (<c>https://host:7400</c>): where a follower forwards
    /// the management API while this aggregator leads. Empty: derived as <see cref="AdvertisedLinkUrl"/> is, from
    /// the API's address and <see cref="HttpPort"/>.
    /// </summary>
    public string AdvertisedApiUrl { get; set; } = "";

    /// <summary><see cref="LeaderLeaseMs"/> as a span.</summary>
    public TimeSpan LeaderLease => TimeSpan.FromMilliseconds(LeaderLeaseMs);

    /// <summary>How often the leader renews its lease: a sixth of it.</summary>
    public TimeSpan LeaderRenewal => LeaderLease / 6;

    /// <summary>The link URL this aggregator advertises (<see cref="AdvertisedLinkUrl"/>, or derived).</summary>
    public string LinkUrl => AdvertisedLinkUrl.Length > 0 ? AdvertisedLinkUrl
        : UrlOf(Insecure ? "http" : "https", ListenAddress, LinkPort);

    /// <summary>The API URL this aggregator advertises (<see cref="AdvertisedApiUrl"/>, or derived).</summary>
    public string ApiUrl => AdvertisedApiUrl.Length > 0 ? AdvertisedApiUrl
        : UrlOf(ApiCertificateFile.Length > 0 ? "https" : "http", ApiAddress, HttpPort);

    private static string UrlOf(string scheme, string address, int port)
    {
        var ip = System.Net.IPAddress.Parse(address);
        var host = ip.Equals(System.Net.IPAddress.Any) || ip.Equals(System.Net.IPAddress.IPv6Any) ? System.Net.Dns.GetHostName()
            : ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        return $"{scheme}://{host}:{port}";
    }

    /// <summary>The rolling log file; empty for console only.</summary>
    public string LogFile { get; set; } = "/var/log/drover/aggregator.log";

    /// <summary>The minimum level logged: Verbose, Debug, Information, Warning, Error, Fatal.</summary>
    public string LogLevel { get; set; } = "Information";

    public TimeSpan HeartbeatInterval => TimeSpan.FromMilliseconds(HeartbeatIntervalMs);

    public TimeSpan MonitorPeriod => TimeSpan.FromMilliseconds(MonitorPeriodMs);

    public TimeSpan BalancerPollPeriod => TimeSpan.FromMilliseconds(BalancerPollPeriodMs);

    public TimeSpan BalancerTimeout => TimeSpan.FromMilliseconds(BalancerTimeoutMs);

    public TimeSpan ProbeTimeout => TimeSpan.FromMilliseconds(ProbeTimeoutMs);

    public TimeSpan LinkSendTimeout => TimeSpan.FromMilliseconds(LinkSendTimeoutMs);

    public TimeSpan RestartGrace => TimeSpan.FromMilliseconds(RestartGraceMs);

    public TimeSpan DeletedStateGrace => TimeSpan.FromSeconds(DeletedStateGraceSeconds);

    public TimeSpan LostNodeRetention => TimeSpan.FromSeconds(LostNodeRetentionSeconds);

    /// <summary>How long a recovered cluster must stay healthy before failback.</summary>
    public TimeSpan FailbackAfter => MonitorPeriod * FailbackPeriods;
}
