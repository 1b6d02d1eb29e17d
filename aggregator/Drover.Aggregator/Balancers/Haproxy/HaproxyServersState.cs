using System.Globalization;

namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>
/// Reads the reply to <c>show servers state</c>, format version 1 (HAProxy's management guide, "show servers state"):
/// the version line, a header line of column names after <c>#</c>, then one line per server, fields separated by
/// spaces, and an empty line at the end. Columns are found by their header names, so versions that add columns
/// (2.6 prints 25; 1.8 printed fewer) still parse.
/// </summary>
internal static class HaproxyServersState
{
    public const string FormatVersion = "1";

    /// <summary>
    /// <c>SRV_ADMF_MAINT</c> in HAProxy's <c>include/haproxy/server-t.h</c>: forced (0x01), inherited from a tracked
    /// server (0x02), or failed address resolution (0x20). 0x04 (<c>CMAINT</c>, "disabled" in the configuration) is
    /// not in it: HAProxy keeps that bit after <c>set server … state ready</c> while the server is up and ready
    /// (seen on 2.6.12: admin state 4, op state 2); a server disabled in the configuration also carries 0x01 until then.
    /// </summary>
    public const int MaintMask = 0x01 | 0x02 | 0x20;

    /// <summary><c>SRV_ADMF_DRAIN</c>: forced (0x08) or inherited from a tracked server (0x10).</summary>
    public const int DrainMask = 0x08 | 0x10;

    /// <summary><c>SRV_ST_RUNNING</c>, the operational state of a server fully up.</summary>
    public const int RunningOpState = 2;

    private const int MaxWeight = 256;

    private static readonly string[] RequiredColumns =
        ["be_name", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight", "srv_port"];

    /// <summary>
    /// The servers in <paramref name="reply"/>, in HAProxy's order; empty for a backend without servers.
    /// Throws <see cref="FormatException"/> saying what is wrong when the reply is not a version 1 dump
    /// (an error text such as <c>Can't find backend.</c> included).
    /// </summary>
    public static IReadOnlyList<HaproxyServer> Parse(string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var lines = reply.Split('\n');
        if (lines[0] != FormatVersion)
        {
            throw new FormatException(
                $"the first line is '{HaproxyText.Printable(lines[0])}', not the format version '{FormatVersion}'");
        }

        if (lines.Length < 2 || !lines[1].StartsWith("# ", StringComparison.Ordinal))
        {
            throw new FormatException("the second line is not the '# be_id be_name …' header of column names");
        }

        var header = lines[1][2..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < header.Length; i++)
        {
            index.TryAdd(header[i], i);
        }

        var missing = RequiredColumns.Where(c => !index.ContainsKey(c)).ToList();
        if (missing.Count > 0)
        {
            throw new FormatException($"the header lacks the column(s) {string.Join(", ", missing.Select(c => $"'{c}'"))}");
        }

        var servers = new List<HaproxyServer>();
        for (var n = 2; n < lines.Length; n++)
        {
            var line = lines[n];

            // HAProxy ends every reply with an empty line and never prints one inside; '#' lines are comments.
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != header.Length)
            {
                throw new FormatException(
                    $"line {n + 1} has {fields.Length} fields where the header names {header.Length}: '{HaproxyText.Printable(line)}'");
            }

            string Field(string column) => fields[index[column]];

            int Number(string column, int max)
            {
                var text = Field(column);
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= max
                    ? value
                    : throw new FormatException(
                        $"line {n + 1}: {column} is '{HaproxyText.Printable(text)}', not a whole number from 0 to {max}");
            }

            servers.Add(new HaproxyServer(
                Backend: Field("be_name"),
                Name: Field("srv_name"),
                Address: Field("srv_addr"),
                Port: Number("srv_port", 65535),
                UserWeight: Number("srv_uweight", MaxWeight),
                Weight: Number("srv_iweight", MaxWeight),
                Admin: AdminFromMask(Number("srv_admin_state", int.MaxValue)),
                Up: Number("srv_op_state", int.MaxValue) == RunningOpState));
        }

        return servers;
    }

    /// <summary>
    /// Folds <c>srv_admin_state</c> as HAProxy does for its own "MAINT / DRAIN / READY" display: any maintenance
    /// bit wins over any drain bit; the configuration-maintenance memo (0x04) and the FQDN-set-by-CLI bit (0x40) alone
    /// leave the server ready.
    /// </summary>
    public static HaproxyServerAdmin AdminFromMask(int mask)
        => (mask & MaintMask) != 0 ? HaproxyServerAdmin.Maint
            : (mask & DrainMask) != 0 ? HaproxyServerAdmin.Drain
            : HaproxyServerAdmin.Ready;
}
