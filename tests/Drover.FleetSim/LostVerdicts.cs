using System.Globalization;
using System.Text.RegularExpressions;

namespace Drover.FleetSim;

/// <summary>
/// The aggregator's lost verdicts, read from its log file as it writes them: each NodeLost line (event 1101)
/// gives the node and, in its timestamp, when the aggregator decided. Reading the log costs the aggregator
/// nothing, where polling its API for a verdict would load what is measured.
/// </summary>
internal sealed partial class LostVerdicts(string logFile)
{
    private readonly List<(string NodeId, DateTimeOffset At)> _verdicts = [];
    private long _position;
    private string _partial = "";

    public IReadOnlyList<(string NodeId, DateTimeOffset At)> All => _verdicts;

    /// <summary>Reads what the log gained since the last call (the file may not exist yet).</summary>
    public void Refresh()
    {
        if (!File.Exists(logFile))
        {
            return;
        }

        using var stream = new FileStream(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length < _position)
        {
            _position = 0; // rolled over
        }

        stream.Position = _position;
        using var reader = new StreamReader(stream);
        var text = _partial + reader.ReadToEnd();
        _position = stream.Length;
        var lines = text.Split('\n');
        _partial = lines[^1];
        foreach (var line in lines.AsSpan(0, lines.Length - 1))
        {
            var match = NodeLost().Match(line);
            if (match.Success && DateTimeOffset.TryParseExact(match.Groups["at"].Value, "yyyy-MM-dd HH:mm:ss.fff zzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
            {
                _verdicts.Add((match.Groups["node"].Value, at));
            }
        }
    }

    /// <summary>The first verdict on <paramref name="nodeId"/> at or after <paramref name="since"/>.</summary>
    public DateTimeOffset? First(string nodeId, DateTimeOffset since)
    {
        foreach (var (node, at) in _verdicts)
        {
            if (node == nodeId && at >= since)
            {
                return at;
            }
        }

        return null;
    }

    // "2026-12-04 18:11:51.985 +00:00 [WRN] Drover...LivenessMonitor: Node 'sim-000042' (cluster ...) missed 3 heartbeats and is now lost; ..."
    [GeneratedRegex(@"^(?<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d) \[WRN\] [^:]+: Node '(?<node>[^']+)' .* is now lost")]
    private static partial Regex NodeLost();
}
