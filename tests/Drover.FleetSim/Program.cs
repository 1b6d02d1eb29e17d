using System.CommandLine;
using Drover.FleetSim;

// drover-fleetsim: simulated agents against a real aggregator; the last line of its output is the report (JSON).
var agents = new Option<int>("--agents") { Description = "simulated agents, each on its own connection", DefaultValueFactory = _ => 100 };
var gpus = new Option<int>("--gpus") { Description = "GPUs per agent (0-64)", DefaultValueFactory = _ => 8 };
var seconds = new Option<int>("--seconds") { Description = "the steady window measured, in seconds", DefaultValueFactory = _ => 10 };
var stop = new Option<int>("--stop") { Description = "agents stopped abruptly after the window (-1: 1 % of the fleet, 1 to 20)", DefaultValueFactory = _ => -1 };
var hang = new Option<int>("--hang") { Description = "agents that hang after the window, connection open (-1: as many as --stop)", DefaultValueFactory = _ => -1 };
var restart = new Option<string>("--restart") { Description = "restart the aggregator after the faults: kill, term or none", DefaultValueFactory = _ => "kill" };
var telemetryEvery = new Option<int>("--telemetry-every") { Description = "telemetry and shim counters with every Nth heartbeat (an agent's telemetryIntervalMs / heartbeat interval)", DefaultValueFactory = _ => 1 };
var insecure = new Option<bool>("--insecure") { Description = "the link in plain text instead of mutual TLS" };
var samples = new Option<int>("--visibility-samples") { Description = "agents whose heartbeats are timed to the API", DefaultValueFactory = _ => 20 };
var concurrency = new Option<int>("--connect-concurrency") { Description = "handshakes in progress at once while the fleet connects", DefaultValueFactory = _ => 64 };
var perCluster = new Option<int>("--nodes-per-cluster") { Description = "simulated nodes per cluster", DefaultValueFactory = _ => 1000 };
var output = new Option<string>("--out") { Description = "the build output holding drover-aggregator", DefaultValueFactory = _ => "out" };
var keep = new Option<bool>("--keep") { Description = "keep the run's folder (aggregator log and data)" };
var ha = new Option<int>("--ha") { Description = "aggregators: 1 on SQLite, or 2-5 on one PostgreSQL with one leader (no --stop, --hang or restart then)", DefaultValueFactory = _ => 1 };
var postgres = new Option<string>("--postgres-connection-file") { Description = "with --ha, a file holding the shared database's connection string (default: a PostgreSQL started for the run)", DefaultValueFactory = _ => "" };
var killLeader = new Option<int>("--kill-leader-after") { Description = "with --ha, SIGKILL the leader this many seconds after the fleet is connected and time the failover (0: no kill)", DefaultValueFactory = _ => 0 };

var root = new RootCommand("Simulates a fleet of Drover agents against a real aggregator (or several, one leading) and reports what the aggregator sustains (issue 17) and what a leader's SIGKILL costs (issue 21).")
{
    agents, gpus, seconds, stop, hang, restart, telemetryEvery, insecure, samples, concurrency, perCluster, output, keep, ha, postgres, killLeader,
};
root.SetAction(async (parsed, cancellationToken) =>
{
    var options = new FleetSimOptions
    {
        Agents = parsed.GetValue(agents),
        Gpus = parsed.GetValue(gpus),
        Seconds = parsed.GetValue(seconds),
        Stop = parsed.GetValue(stop),
        Hang = parsed.GetValue(hang),
        Restart = parsed.GetValue(restart)!,
        TelemetryEvery = parsed.GetValue(telemetryEvery),
        Tls = !parsed.GetValue(insecure),
        VisibilitySamples = parsed.GetValue(samples),
        ConnectConcurrency = parsed.GetValue(concurrency),
        NodesPerCluster = parsed.GetValue(perCluster),
        Out = parsed.GetValue(output)!,
        Keep = parsed.GetValue(keep),
        Ha = parsed.GetValue(ha),
        PostgresConnectionFile = parsed.GetValue(postgres)!,
        KillLeaderAfter = parsed.GetValue(killLeader),
    };
    if (options.Problem() is { } problem)
    {
        await Console.Error.WriteLineAsync($"drover-fleetsim: {problem}");
        return 2;
    }

    var report = await FleetRun.RunAsync(options, Console.Error, cancellationToken);
    Console.WriteLine(report.ToJsonString());
    return 0;
});
return await root.Parse(args).InvokeAsync();
