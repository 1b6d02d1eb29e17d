using System.Net;
using System.Net.Sockets;
using System.Text;
using Drover.Aggregator.Balancers.Haproxy;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Balancers.Haproxy;

/// <summary>The Runtime API client against a fake stats socket answering HAProxy 2.6's texts.</summary>
public sealed class HaproxyRuntimeClientTests
{
    private static CancellationToken None => CancellationToken.None;

    [Fact]
    public async Task ShowServersAsync_RealCapture_SendsTheCommandAndParses()
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.ServersStateMaint);

        var servers = await fake.Client().ShowServersAsync("be_db", None);

        Assert.Equal(["show servers state be_db"], fake.Commands);
        Assert.Equal(["db1", "db2", "db3"], servers.Select(s => s.Name));
        Assert.Equal([HaproxyServerAdmin.Ready, HaproxyServerAdmin.Maint, HaproxyServerAdmin.Maint], servers.Select(s => s.Admin));
    }

    [Fact]
    public async Task ShowServersAsync_EmptyBackend_EmptyList()
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.ServersStateEmpty);

        Assert.Empty(await fake.Client().ShowServersAsync("be_empty", None));
    }

    [Fact]
    public async Task ShowServersAsync_NoSuchBackend_ExceptionNamesAddressCommandAndReply()
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.NoSuchBackend);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().ShowServersAsync("nope", None));

        Assert.Contains($"'unix:{fake.SocketPath}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'show servers state nope'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'Can't find backend.'", e.Message, StringComparison.Ordinal);
        Assert.Equal("show servers state nope", e.Command);
        Assert.Equal(HaproxyCaptures.NoSuchBackend, e.Reply);
    }

    [Theory]
    [InlineData("2\n" + HaproxyCaptures.Header + "\n\n", "the first line is '2'")]
    [InlineData("1\n# be_id be_name srv_id srv_name srv_addr\n\n", "the header lacks the column(s) 'srv_op_state'")]
    [InlineData("1\n" + HaproxyCaptures.Header + "\n2 be_db 1 db1 127.0.0.1 2 0 1 1\n\n", "line 3 has 9 fields where the header names 25")]
    [InlineData("1\n" + HaproxyCaptures.Header + "\n2 be_db 1 db1 127.0.0.1 2 0 ten 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0\n\n", "srv_uweight is 'ten'")]
    [InlineData("", "the first line is ''")]
    public async Task ShowServersAsync_Garbage_HaproxyRuntimeException(string reply, string reason)
    {
        await using var fake = new FakeRuntimeApi(reply);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().ShowServersAsync("be_db", None));

        Assert.Contains("a reply that is not a server state dump", e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.IsType<FormatException>(e.InnerException);
    }

    [Fact]
    public async Task ShowServersAsync_ReplyOver1MiB_RefusedAndMessageShortened()
    {
        var huge = "1\n" + HaproxyCaptures.Header + "\n" + string.Concat(Enumerable.Repeat("2 be_db 1 db1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0\n", 2 * 1024 * 1024 / 70));
        await using var fake = new FakeRuntimeApi(huge);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().ShowServersAsync("be_db", None));

        Assert.Contains("a reply longer than 1048576 bytes", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Length < 1000, e.Message);
        Assert.Contains("characters in all)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowServersAsync_ReplyOfExactly1MiB_Read()
    {
        // A reply at the limit is whole: it is the first byte past it that is refused.
        var row = "2 be_db 1 db1 127.0.0.1 2 0 1 1 3 1 0 2 0 0 0 0 - 45001 - 0 0 - - 0\n";
        var head = "1\n" + HaproxyCaptures.Header + "\n";
        var rows = (HaproxyRuntimeClient.MaxReplyBytes - head.Length) / row.Length;
        var reply = head + string.Concat(Enumerable.Repeat(row, rows));
        reply += new string('\n', HaproxyRuntimeClient.MaxReplyBytes - reply.Length);
        await using var fake = new FakeRuntimeApi(reply);

        Assert.Equal(rows, (await fake.Client().ShowServersAsync("be_db", None)).Count);
    }

    [Fact]
    public async Task ShowServersAsync_PeerNeverAnswers_TimesOut()
    {
        await using var fake = new FakeRuntimeApi(_ => null);
        var time = new FakeTimeProvider();
        var client = fake.Client(TimeSpan.FromSeconds(2), time);

        var call = client.ShowServersAsync("be_db", None);
        Assert.Equal("show servers state be_db", await fake.NextCommandAsync());
        time.Advance(TimeSpan.FromSeconds(2));
        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Contains("did not complete 'show servers state be_db' within 2 s", e.Message, StringComparison.Ordinal);
        Assert.Contains(fake.SocketPath, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowServersAsync_PeerNeverAnswers_RealClockTimesOut()
    {
        // The same with the system clock, so that the timer the client starts is known to be a real one.
        await using var fake = new FakeRuntimeApi(_ => null);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(
            () => fake.Client(TimeSpan.FromMilliseconds(200)).ShowServersAsync("be_db", None).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Contains("within 0.2 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowServersAsync_CallerCancels_OperationCanceledNotAFailure()
    {
        await using var fake = new FakeRuntimeApi(_ => null);
        using var cancel = new CancellationTokenSource();

        var call = fake.Client().ShowServersAsync("be_db", cancel.Token);
        await fake.NextCommandAsync();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ShowServersAsync_NoSocketFile_CouldNotBeReached()
    {
        var address = HaproxyAddress.Parse($"unix:{Path.GetTempPath()}drover-no-such-{Guid.NewGuid():N}.sock");
        var client = new HaproxyRuntimeClient(address, TimeSpan.FromSeconds(5));

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => client.ShowServersAsync("be_db", None));

        Assert.Contains($"'{address}' could not be reached to send 'show servers state be_db'", e.Message, StringComparison.Ordinal);
        Assert.IsType<SocketException>(e.InnerException);
    }

    [Fact]
    public async Task ShowServersAsync_TcpPortWithoutListener_ConnectionRefused()
    {
        var address = HaproxyAddress.Parse($"tcp:127.0.0.1:{Ports.Free()}");
        var client = new HaproxyRuntimeClient(address, TimeSpan.FromSeconds(5));

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => client.ShowServersAsync("be_db", None));

        Assert.Contains("ConnectionRefused", e.Message, StringComparison.Ordinal);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task ShowServersAsync_OverTcp_SameProtocol()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var peer = await listener.AcceptSocketAsync();
            var received = new List<byte>();
            var buffer = new byte[256];
            while (!received.Contains((byte)'\n'))
            {
                var read = await peer.ReceiveAsync(buffer, SocketFlags.None);
                Assert.NotEqual(0, read);
                received.AddRange(buffer.AsSpan(0, read));
            }

            await peer.SendAsync(Encoding.ASCII.GetBytes(HaproxyCaptures.ServersStateEmpty), SocketFlags.None);
            peer.Shutdown(SocketShutdown.Both);
            return Encoding.ASCII.GetString([.. received]);
        });
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var client = new HaproxyRuntimeClient(HaproxyAddress.Parse($"tcp:127.0.0.1:{port}"), TimeSpan.FromSeconds(5));

        Assert.Empty(await client.ShowServersAsync("be_empty", None));
        Assert.Equal("show servers state be_empty\n", await serve.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("be db")]
    [InlineData("be_db\nshow info")]
    [InlineData("be_db;del server be_db/db1")]
    [InlineData("be_db\\;x")]
    [InlineData("be_db/db1")]
    [InlineData("be_db\r")]
    [InlineData("be\tdb")]
    [InlineData("bé")]
    [InlineData("#2")]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345")]
    public async Task AnyCommand_UnsafeName_ArgumentExceptionAndNothingSent(string name)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.SetOk);
        var client = fake.Client();

        var errors = new List<ArgumentException>
        {
            await Assert.ThrowsAsync<ArgumentException>(() => client.ShowServersAsync(name, None)),
            await Assert.ThrowsAsync<ArgumentException>(() => client.SetWeightAsync(name, "db1", 1, None)),
            await Assert.ThrowsAsync<ArgumentException>(() => client.SetWeightAsync("be_db", name, 1, None)),
            await Assert.ThrowsAsync<ArgumentException>(() => client.SetAdminAsync("be_db", name, HaproxyServerAdmin.Maint, None)),
            await Assert.ThrowsAsync<ArgumentException>(() => client.AddServerAsync(name, "db3", "127.0.0.1", 80, 1, None)),
            await Assert.ThrowsAsync<ArgumentException>(() => client.AddServerAsync("be_db", name, "127.0.0.1", 80, 1, None)),
            await Assert.ThrowsAsync<ArgumentException>(() => client.DelServerAsync("be_db", name, None)),
        };

        Assert.Empty(fake.Commands);
        Assert.All(errors, e => Assert.Contains("accepted: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', ':', '-'", e.Message, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain('\n', e.Message));
    }

    [Theory]
    [InlineData("be_db")]
    [InlineData("a")]
    [InlineData("x.y:z-1_2")]
    [InlineData("1234567890123456789012345678901234567890123456789012345678901234")]
    public async Task SetWeightAsync_NamesHaproxyAllows_Sent(string name)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.SetOk);

        await fake.Client().SetWeightAsync(name, name, 3, None);

        Assert.Equal([$"set server {name}/{name} weight 3"], fake.Commands);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(256)]
    public async Task SetWeightAsync_EmptyReply_Done(int weight)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.SetOk);

        await fake.Client().SetWeightAsync("be_db", "db1", weight, None);

        Assert.Equal([$"set server be_db/db1 weight {weight}"], fake.Commands);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(257)]
    public async Task SetWeightAsync_OutOfRange_RefusedBeforeSending(int weight)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.SetOk);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => fake.Client().SetWeightAsync("be_db", "db1", weight, None));

        Assert.Empty(fake.Commands);
    }

    [Theory]
    [InlineData(HaproxyCaptures.NoSuchServer, "'No such server.'")]
    [InlineData("No such backend.\n\n", "'No such backend.'")]
    [InlineData(HaproxyCaptures.WeightOutOfRange, "'Absolute weight can only be between 0 and 256 inclusive.'")]
    [InlineData(HaproxyCaptures.PermissionDenied, "'Permission denied'")]
    [InlineData("Require 'backend/server'.\n\n", "'Require 'backend/server'.'")]
    [InlineData("two\nlines\n", "'two\\nlines'")]
    public async Task SetWeightAsync_ErrorText_SurfacesInException(string reply, string shown)
    {
        await using var fake = new FakeRuntimeApi(reply);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().SetWeightAsync("be_db", "db1", 1, None));

        Assert.Contains($"answered 'set server be_db/db1 weight 1' with an error: {shown}", e.Message, StringComparison.Ordinal);
        Assert.Equal(reply, e.Reply);
    }

    [Theory]
    [InlineData(nameof(HaproxyServerAdmin.Ready), "ready")]
    [InlineData(nameof(HaproxyServerAdmin.Drain), "drain")]
    [InlineData(nameof(HaproxyServerAdmin.Maint), "maint")]
    public async Task SetAdminAsync_EachState_ItsWord(string state, string word)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.SetOk);

        await fake.Client().SetAdminAsync("be_db", "db1", Enum.Parse<HaproxyServerAdmin>(state), None);

        Assert.Equal([$"set server be_db/db1 state {word}"], fake.Commands);
    }

    [Fact]
    public async Task SetAdminAsync_UndefinedState_RefusedBeforeSending()
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.SetOk);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => fake.Client().SetAdminAsync("be_db", "db1", (HaproxyServerAdmin)7, None));

        Assert.Empty(fake.Commands);
    }

    [Fact]
    public async Task SetAdminAsync_ErrorText_SurfacesInException()
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.NoSuchServer);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().SetAdminAsync("be_db", "nope", HaproxyServerAdmin.Drain, None));

        Assert.Contains("'set server be_db/nope state drain' with an error: 'No such server.'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.5", 8080, 5, "add server be_db/db3 10.0.0.5:8080 weight 5 enabled")]
    [InlineData("::1", 1, 0, "add server be_db/db3 [::1]:1 weight 0 enabled")]
    [InlineData("2001:DB8:0:0::1", 65535, 256, "add server be_db/db3 [2001:db8::1]:65535 weight 256 enabled")]
    public async Task AddServerAsync_Registered_Done(string address, int port, int weight, string command)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.ServerAdded);

        await fake.Client().AddServerAsync("be_db", "db3", address, port, weight, None);

        Assert.Equal([command], fake.Commands);
    }

    [Theory]
    [InlineData(HaproxyCaptures.ServerExists, "'Already exists a server with the same name in backend.'")]
    [InlineData("Backend must use a dynamic load balancing to support dynamic servers.\n", "'Backend must use a dynamic load balancing to support dynamic servers.'")]
    [InlineData(HaproxyCaptures.SetOk, "''")]
    public async Task AddServerAsync_AnythingButRegistered_Exception(string reply, string shown)
    {
        await using var fake = new FakeRuntimeApi(reply);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().AddServerAsync("be_db", "db3", "127.0.0.1", 80, 1, None));

        Assert.Contains($"with something other than 'New server registered.': {shown}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.1")]
    [InlineData("1")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("010.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("fe80::1%2")]
    [InlineData("127.0.0.1 weight 256")]
    [InlineData("127.0.0.1;shutdown sessions server be_db/db1")]
    [InlineData("")]
    public async Task AddServerAsync_NotAnIpAddress_ArgumentExceptionAndNothingSent(string address)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.ServerAdded);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => fake.Client().AddServerAsync("be_db", "db3", address, 80, 1, None));

        Assert.Equal("address", e.ParamName);
        Assert.Empty(fake.Commands);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(65536, 1)]
    [InlineData(80, -1)]
    [InlineData(80, 257)]
    public async Task AddServerAsync_PortOrWeightOutOfRange_RefusedBeforeSending(int port, int weight)
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.ServerAdded);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => fake.Client().AddServerAsync("be_db", "db3", "127.0.0.1", port, weight, None));

        Assert.Empty(fake.Commands);
    }

    [Fact]
    public async Task DelServerAsync_MaintThenDelete()
    {
        await using var fake = new FakeRuntimeApi(c => c.StartsWith("del ", StringComparison.Ordinal) ? HaproxyCaptures.ServerDeleted : HaproxyCaptures.SetOk);

        await fake.Client().DelServerAsync("be_db", "db3", None);

        Assert.Equal(["set server be_db/db3 state maint", "del server be_db/db3"], fake.Commands);
    }

    [Fact]
    public async Task DelServerAsync_MaintRefused_NoDeleteSent()
    {
        await using var fake = new FakeRuntimeApi(HaproxyCaptures.NoSuchServer);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().DelServerAsync("be_db", "nope", None));

        Assert.Equal(["set server be_db/nope state maint"], fake.Commands);
        Assert.Contains("'No such server.'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HaproxyCaptures.OnlyMaintDeleted)]
    [InlineData("Server still has connections attached to it, cannot remove it.\n")]
    [InlineData(HaproxyCaptures.SetOk)]
    public async Task DelServerAsync_DeleteRefused_Exception(string reply)
    {
        await using var fake = new FakeRuntimeApi(c => c.StartsWith("del ", StringComparison.Ordinal) ? reply : HaproxyCaptures.SetOk);

        var e = await Assert.ThrowsAsync<HaproxyRuntimeException>(() => fake.Client().DelServerAsync("be_db", "db3", None));

        Assert.Contains($"answered 'del server be_db/db3' with something other than 'Server deleted.': '{reply.Trim()}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_TimeoutNotPositive_Refused()
    {
        var address = HaproxyAddress.Parse("unix:/run/haproxy/admin.sock");

        Assert.Throws<ArgumentOutOfRangeException>(() => new HaproxyRuntimeClient(address, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HaproxyRuntimeClient(address, System.Threading.Timeout.InfiniteTimeSpan));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HaproxyRuntimeClient(address, TimeSpan.FromDays(2)));
    }
}
