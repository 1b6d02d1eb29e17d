namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>One row of <c>show servers state &lt;backend&gt;</c> (format version 1): the fields Drover uses.</summary>
/// <param name="Backend">The backend's name (<c>be_name</c>).</param>
/// <param name="Name">The server's name in its backend (<c>srv_name</c>).</param>
/// <param name="Address">The server's IP address (<c>srv_addr</c>) as HAProxy prints it; <c>-</c> when it has none (an unresolved name).</param>
/// <param name="Port">The server's port (<c>srv_port</c>); 0 when the configuration gave none.</param>
/// <param name="UserWeight">The weight in force (<c>srv_uweight</c>): what <c>set server … weight</c> changes, 0 to 256.</param>
/// <param name="Weight">The initial weight (<c>srv_iweight</c>): the configuration's or <c>add server</c>'s, 0 to 256.</param>
/// <param name="Admin">The administrative state folded from the <c>srv_admin_state</c> bits.</param>
/// <param name="Up">Whether the operational state (<c>srv_op_state</c>) is 2, running; starting (slow start), stopping and stopped are not.</param>
internal sealed record HaproxyServer(
    string Backend,
    string Name,
    string Address,
    int Port,
    int UserWeight,
    int Weight,
    HaproxyServerAdmin Admin,
    bool Up);
