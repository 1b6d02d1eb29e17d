using Drover.Aggregator.Balancers.Haproxy;

namespace Drover.Aggregator.Tests.Balancers.Haproxy;

public sealed class HaproxyServersStateTests
{
    [Fact]
    public void Parse_RealMaintCapture_EveryServerWithItsState()
    {
        var servers = HaproxyServersState.Parse(HaproxyCaptures.ServersStateMaint);

        Assert.Equal(
            [
                new HaproxyServer("be_db", "db1", "127.0.0.1", 45001, UserWeight: 7, Weight: 1, HaproxyServerAdmin.Ready, Up: true),
                new HaproxyServer("be_db", "db2", "127.0.0.1", 45002, UserWeight: 1, Weight: 1, HaproxyServerAdmin.Maint, Up: false),
                new HaproxyServer("be_db", "db3", "127.0.0.1", 45003, UserWeight: 1, Weight: 1, HaproxyServerAdmin.Maint, Up: false),
            ],
            servers);
    }

    [Fact]
    public void Parse_RealDrainCapture_ForcedAndInheritedDrain()
    {
        var servers = HaproxyServersState.Parse(HaproxyCaptures.ServersStateDrain);

        Assert.Equal(
            [HaproxyServerAdmin.Ready, HaproxyServerAdmin.Drain, HaproxyServerAdmin.Drain],
            servers.Select(s => s.Admin));
        Assert.All(servers, s => Assert.True(s.Up));
    }

    [Fact]
    public void Parse_BackendWithoutServers_Empty()
    {
        Assert.Empty(HaproxyServersState.Parse(HaproxyCaptures.ServersStateEmpty));
    }

    [Theory]
    [InlineData(0x00, nameof(HaproxyServerAdmin.Ready))]
    [InlineData(0x01, nameof(HaproxyServerAdmin.Maint))] // FMAINT: set server … state maint
    [InlineData(0x02, nameof(HaproxyServerAdmin.Maint))] // IMAINT: tracks a server in maintenance
    [InlineData(0x04, nameof(HaproxyServerAdmin.Ready))] // CMAINT alone: "disabled" in the configuration, since made ready
    [InlineData(0x05, nameof(HaproxyServerAdmin.Maint))] // FMAINT | CMAINT: "disabled" in the configuration
    [InlineData(0x08, nameof(HaproxyServerAdmin.Drain))] // FDRAIN: set server … state drain
    [InlineData(0x10, nameof(HaproxyServerAdmin.Drain))] // IDRAIN: tracks a draining server
    [InlineData(0x18, nameof(HaproxyServerAdmin.Drain))]
    [InlineData(0x20, nameof(HaproxyServerAdmin.Maint))] // RMAINT: address resolution failed
    [InlineData(0x40, nameof(HaproxyServerAdmin.Ready))] // HMAINT: FQDN set from the CLI, not a maintenance
    [InlineData(0x09, nameof(HaproxyServerAdmin.Maint))] // maintenance wins over drain
    [InlineData(0x12, nameof(HaproxyServerAdmin.Maint))]
    [InlineData(0x28, nameof(HaproxyServerAdmin.Maint))]
    [InlineData(0x4C, nameof(HaproxyServerAdmin.Drain))]
    public void AdminFromMask_Bits_FoldedAsHaproxyDoes(int mask, string expected)
    {
        // By name: a public test method cannot take the internal enum.
        Assert.Equal(Enum.Parse<HaproxyServerAdmin>(expected), HaproxyServersState.AdminFromMask(mask));
    }

    [Theory]
    [InlineData(0, false)] // stopped
    [InlineData(1, false)] // starting (slow start)
    [InlineData(2, true)] // running
    [InlineData(3, false)] // stopping
    public void Parse_OpState_UpOnlyWhenRunning(int opState, bool up)
    {
        var reply = $"1\n# be_name srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_port\nbe s 10.0.0.1 {opState} 0 1 1 80\n\n";

        Assert.Equal(up, Assert.Single(HaproxyServersState.Parse(reply)).Up);
    }

    [Fact]
    public void Parse_ColumnsReorderedAndAdded_ReadByName()
    {
        var reply = "1\n"
            + "# srv_port future_column srv_iweight srv_uweight srv_admin_state srv_op_state srv_addr srv_name be_name be_id\n"
            + "# a comment line, as the format allows\n"
            + "8080 x 3 4 8 2 ::1 s1 be_web 7\n"
            + "\n";

        Assert.Equal(
            new HaproxyServer("be_web", "s1", "::1", 8080, UserWeight: 4, Weight: 3, HaproxyServerAdmin.Drain, Up: true),
            Assert.Single(HaproxyServersState.Parse(reply)));
    }

    [Fact]
    public void Parse_UnresolvedServer_AddressIsDash()
    {
        // add server be_db/db4 notanaddr:1 on 2.6.12: a name that is never resolved, so no address.
        var reply = "1\n" + HaproxyCaptures.Header + "\n2 be_db 4 db4 - 0 1 1 1 0 1 0 0 0 0 0 0 notanaddr 1 - 0 0 - - 0\n\n";

        var server = Assert.Single(HaproxyServersState.Parse(reply));

        Assert.Equal(("-", 1, HaproxyServerAdmin.Maint, false), (server.Address, server.Port, server.Admin, server.Up));
    }

    [Theory]
    [InlineData("", "the first line is '', not the format version '1'")]
    [InlineData("Can't find backend.\n\n", "the first line is 'Can't find backend.'")]
    [InlineData("2\n# be_name srv_name\n\n", "the first line is '2'")]
    [InlineData(" 1\n# be_name\n\n", "the first line is ' 1'")]
    [InlineData("1\n", "the second line is not the '# be_id be_name …' header")]
    [InlineData("1\nbe_id be_name srv_id\n", "the second line is not the '# be_id be_name …' header")]
    [InlineData("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n\n", "the header lacks the column(s) 'srv_port'")]
    [InlineData("1\n# be_id srv_id\n\n", "the header lacks the column(s) 'be_name', 'srv_name', 'srv_addr',")]
    public void Parse_NotAVersion1Dump_FormatException(string reply, string reason)
    {
        var e = Assert.Throws<FormatException>(() => HaproxyServersState.Parse(reply));

        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - -", "line 3 has 24 fields where the header names 25")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0 extra", "line 3 has 26 fields where the header names 25")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 heavy 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0", "line 3: srv_uweight is 'heavy', not a whole number from 0 to 256")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 257 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0", "srv_uweight is '257'")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 1 -1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0", "srv_iweight is '-1'")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0x1 1 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0", "srv_admin_state is '0x1'")]
    [InlineData("2 be_db 1 db1 127.0.0.1 up 0 1 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0", "srv_op_state is 'up'")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 65536 - 0 0 - - 0", "srv_port is '65536'")]
    [InlineData("2 be_db 1 db1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 99999999999 - 0 0 - - 0", "srv_port is '99999999999'")]
    public void Parse_BadRow_FormatExceptionNamingLineAndColumn(string row, string reason)
    {
        var reply = "1\n" + HaproxyCaptures.Header + "\n" + row + "\n\n";

        var e = Assert.Throws<FormatException>(() => HaproxyServersState.Parse(reply));

        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}
