namespace Drover.FleetSim;

/// <summary>What one run simulates and measures. Every figure of the report comes from one run of these.</summary>
internal sealed record FleetSimOptions
{
    /// <summary>Simulated agents, each on its own connection with its own client certificate.</summary>
    public int Agents { get; init; } = 100;

    /// <summary>GPUs per agent in its Hello and every telemetry message (0-64).</summary>
    public int Gpus { get; init; } = 8;

    /// <summary>The steady window in which ingest, CPU, memory and visibility are measured.</summary>
    public int Seconds { get; init; } = 10;

    /// <summary>Agents stopped abruptly after the window (the stream reset, no goodbye); -1: 1 % of the fleet, 1 to 20.</summary>
    public int Stop { get; init; } = -1;

    /// <summary>Agents that hang after the window, their connection open, reading and writing nothing; -1: as many as are stopped.</summary>
    public int Hang { get; init; } = -1;

    /// <summary>How the aggregator is restarted after the faults: kill (SIGKILL), term (SIGTERM) or none.</summary>
    public string Restart { get; init; } = "kill";

    /// <summary>Telemetry and shim counters with every this-many heartbeats: an agent's telemetryIntervalMs over its heartbeat interval.</summary>
    public int TelemetryEvery { get; init; } = 1;

    /// <summary>Mutual TLS on the link, as by default (false: the link in plain text, the aggregator with insecure: true).</summary>
    public bool Tls { get; init; } = true;

    /// <summary>Agents whose heartbeats are timed from the send to the API showing them.</summary>
    public int VisibilitySamples { get; init; } = 20;

    /// <summary>Agents completing their TLS handshake and Hello at once while the fleet connects.</summary>
    public int ConnectConcurrency { get; init; } = 64;

    /// <summary>Nodes per simulated cluster (the aggregator's maxNodesPerCluster is 1000 by default).</summary>
    public int NodesPerCluster { get; init; } = 1000;

    /// <summary>The build output holding drover-aggregator (make build's ./out).</summary>
    public string Out { get; init; } = "out";

    /// <summary>Keep the run's folder (the aggregator's log and data) instead of removing it.</summary>
    public bool Keep { get; init; }

    /// <summary>
    /// Aggregators (issue 21): 1, one on SQLite; 2-5, that many on one PostgreSQL, one elected leader, every agent
    /// given all their link addresses and following the followers' Redirects. With more than one, no agent is
    /// stopped or hung and none of them is restarted: <see cref="KillLeaderAfter"/> is the fault instead.
    /// </summary>
    public int Ha { get; init; } = 1;

    /// <summary>With <see cref="Ha"/> above 1, a file holding the connection string of the database the aggregators share; empty: the simulator starts its own PostgreSQL for the run.</summary>
    public string PostgresConnectionFile { get; init; } = "";

    /// <summary>With <see cref="Ha"/> above 1, SIGKILL the leader this many seconds after every agent was first welcomed and time the failover; 0: no kill.</summary>
    public int KillLeaderAfter { get; init; }

    public int StopCount => Ha > 1 ? 0 : Stop >= 0 ? Math.Min(Stop, Agents) : Math.Clamp(Agents / 100, 1, 20);

    public int HangCount => Math.Min(Hang >= 0 ? Hang : StopCount, Agents - StopCount);

    /// <summary>Null when the options make sense, else what is wrong, naming the option.</summary>
    public string? Problem()
    {
        return Agents is < 1 or > 100_000 ? "--agents must be 1-100000"
            : Gpus is < 0 or > 64 ? "--gpus must be 0-64"
            : Seconds is < 1 or > 86_400 ? "--seconds must be 1-86400"
            : TelemetryEvery is < 1 or > 60 ? "--telemetry-every must be 1-60"
            : Restart is not ("kill" or "term" or "none") ? "--restart must be kill, term or none"
            : VisibilitySamples < 0 ? "--visibility-samples must be 0 or more"
            : ConnectConcurrency < 1 ? "--connect-concurrency must be 1 or more"
            : NodesPerCluster is < 1 or > 100_000 ? "--nodes-per-cluster must be 1-100000"
            : Ha is < 1 or > 5 ? "--ha must be 1-5"
            : Ha > 1 && (Stop > 0 || Hang > 0) ? "--stop and --hang are for one aggregator: with --ha the leader's SIGKILL is the fault"
            : Ha == 1 && (KillLeaderAfter != 0 || PostgresConnectionFile.Length > 0) ? "--kill-leader-after and --postgres-connection-file need --ha 2 or more"
            : KillLeaderAfter < 0 ? "--kill-leader-after must be 0 (no kill) or more"
            : KillLeaderAfter > 0 && KillLeaderAfter < Seconds ? "--kill-leader-after must be at least --seconds: the steady window is measured before the kill"
            : PostgresConnectionFile.Length > 0 && !File.Exists(PostgresConnectionFile) ? $"--postgres-connection-file {PostgresConnectionFile} does not exist"
            : Ha > 1 && PostgresConnectionFile.Length == 0 && FleetPostgres.Binaries() is null ? "--ha without --postgres-connection-file starts PostgreSQL, and its server is not installed (/usr/lib/postgresql/<version>/bin/initdb): apt-get install postgresql"
            : !File.Exists(Path.Combine(Out, "drover-aggregator")) ? $"{Path.Combine(Out, "drover-aggregator")} is missing: run 'make build' first (or name the build output with --out)"
            : null;
    }
}
