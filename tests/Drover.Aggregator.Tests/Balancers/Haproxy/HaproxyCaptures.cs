namespace Drover.Aggregator.Tests.Balancers.Haproxy;

/// <summary>
/// Replies captured from HAProxy 2.6.12 (Debian 12, haproxy 2.6.12-1+deb12u4) over its stats socket, byte for byte,
/// with this backend:
/// <code>
/// backend be_db
///     balance roundrobin
///     server db1 127.0.0.1:45001 weight 1 disabled
///     server db2 127.0.0.1:45002 weight 1 check inter 60s
///     server db3 127.0.0.1:45003 weight 1 track be_db/db2
/// </code>
/// </summary>
internal static class HaproxyCaptures
{
    public const string Header =
        "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

    /// <summary>
    /// <c>show servers state be_db</c> after <c>set server be_db/db1 state ready</c>, <c>set server be_db/db1 weight 7</c>
    /// and <c>set server be_db/db2 state maint</c>: db1 ready and up though still marked disabled in the configuration
    /// (admin 0x04), db2 forced into maintenance (0x01), db3 in maintenance through the server it tracks (0x02).
    /// </summary>
    public const string ServersStateMaint =
        "1\n"
        + Header + "\n"
        + "2 be_db 1 db1 127.0.0.1 2 4 7 1 5 1 0 0 8 0 0 0 - 45001 - 0 0 - - 0\n"
        + "2 be_db 2 db2 127.0.0.1 0 1 1 1 0 8 2 0 14 0 0 0 - 45002 - 0 0 - - 0\n"
        + "2 be_db 3 db3 127.0.0.1 0 2 1 1 0 1 0 0 0 0 0 0 - 45003 - 0 0 - - 0\n"
        + "\n";

    /// <summary>
    /// The same backend after <c>set server be_db/db2 state drain</c>: db2 forced to drain (0x08), db3 draining
    /// through the server it tracks (0x10).
    /// </summary>
    public const string ServersStateDrain =
        "1\n"
        + Header + "\n"
        + "2 be_db 1 db1 127.0.0.1 2 4 1 1 0 1 0 0 8 0 0 0 - 45001 - 0 0 - - 0\n"
        + "2 be_db 2 db2 127.0.0.1 2 8 1 1 0 8 2 2 6 0 0 0 - 45002 - 0 0 - - 0\n"
        + "2 be_db 3 db3 127.0.0.1 2 16 1 1 0 1 0 2 0 0 0 0 - 45003 - 0 0 - - 0\n"
        + "\n";

    /// <summary><c>show servers state be_empty</c> for a backend without servers.</summary>
    public const string ServersStateEmpty = "1\n" + Header + "\n\n";

    /// <summary><c>show servers state nope</c>.</summary>
    public const string NoSuchBackend = "Can't find backend.\n\n";

    /// <summary>Every successful <c>set server</c>.</summary>
    public const string SetOk = "\n";

    /// <summary><c>set server be_db/nope weight 1</c>.</summary>
    public const string NoSuchServer = "No such server.\n\n";

    /// <summary><c>set server be_db/db1 weight 300</c> (the client refuses this weight before sending it).</summary>
    public const string WeightOutOfRange = "Absolute weight can only be between 0 and 256 inclusive.\n\n";

    /// <summary><c>add server be_db/db3 127.0.0.1:45004 weight 5</c>.</summary>
    public const string ServerAdded = "New server registered.\n\n";

    /// <summary><c>add server</c> with a name already in the backend.</summary>
    public const string ServerExists = "Already exists a server with the same name in backend.\n\n";

    /// <summary><c>del server be_db/db3</c> once in maintenance.</summary>
    public const string ServerDeleted = "Server deleted.\n";

    /// <summary><c>del server be_db/db1</c> while not in maintenance.</summary>
    public const string OnlyMaintDeleted = "Only servers in maintenance mode can be deleted.\n";

    /// <summary>Any write command on a socket below <c>level admin</c>.</summary>
    public const string PermissionDenied = "Permission denied\n\n";
}
