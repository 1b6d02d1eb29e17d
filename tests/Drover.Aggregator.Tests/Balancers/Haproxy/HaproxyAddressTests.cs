using System.Net;
using Drover.Aggregator.Balancers.Haproxy;

namespace Drover.Aggregator.Tests.Balancers.Haproxy;

public sealed class HaproxyAddressTests
{
    [Fact]
    public void Parse_UnixPath_KeepsThePath()
    {
        var address = HaproxyAddress.Parse("unix:/run/haproxy/admin.sock");

        Assert.Equal("/run/haproxy/admin.sock", address.SocketPath);
        Assert.Null(address.Host);
        Assert.Equal("unix:/run/haproxy/admin.sock", address.ToString());
        Assert.Equal("/run/haproxy/admin.sock", address.CreateEndPoint().ToString());
    }

    [Theory]
    [InlineData("tcp:127.0.0.1:9999", "127.0.0.1", 9999)]
    [InlineData("tcp:[::1]:9999", "::1", 9999)]
    [InlineData("tcp:lb1.example.net:1", "lb1.example.net", 1)]
    [InlineData("tcp:localhost:65535", "localhost", 65535)]
    public void Parse_Tcp_SplitsHostAndPort(string value, string host, int port)
    {
        var address = HaproxyAddress.Parse(value);

        Assert.Null(address.SocketPath);
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
    }

    [Fact]
    public void CreateEndPoint_IpOrName_IpEndPointOrDnsEndPoint()
    {
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 9999), HaproxyAddress.Parse("tcp:[::1]:9999").CreateEndPoint());
        Assert.Equal(new DnsEndPoint("localhost", 80), HaproxyAddress.Parse("tcp:localhost:80").CreateEndPoint());
    }

    [Theory]
    [InlineData("")]
    [InlineData("/run/haproxy/admin.sock")]
    [InlineData("unix:")]
    [InlineData("unix:admin.sock")]
    [InlineData("unix:/run/admin.sock\n")]
    [InlineData("tcp:")]
    [InlineData("tcp:127.0.0.1")]
    [InlineData("tcp:127.0.0.1:")]
    [InlineData("tcp:127.0.0.1:0")]
    [InlineData("tcp:127.0.0.1:65536")]
    [InlineData("tcp:127.0.0.1:+80")]
    [InlineData("tcp:127.0.0.1:0x50")]
    [InlineData("tcp::9999")]
    [InlineData("tcp:::1:9999")]
    [InlineData("tcp:[127.0.0.1]:9999")]
    [InlineData("tcp:bad host:9999")]
    [InlineData("http://127.0.0.1:9999")]
    [InlineData("ipv4@127.0.0.1:9999")]
    public void Parse_BadValue_FormatExceptionNamingValueAndWhatIsAccepted(string value)
    {
        var e = Assert.Throws<FormatException>(() => HaproxyAddress.Parse(value));

        Assert.Contains($"'{value.Replace("\n", "\\n", StringComparison.Ordinal)}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("accepted: 'unix:<absolute socket path>' or 'tcp:<host>:<port>'", e.Message, StringComparison.Ordinal);
        Assert.False(HaproxyAddress.TryParse(value, out var address, out var error));
        Assert.Null(address);
        Assert.Equal(e.Message, error);
    }

    [Fact]
    public void Parse_SocketPathLongerThanSunPath_FormatException()
    {
        var fits = "unix:/" + new string('a', HaproxyAddress.MaxSocketPathBytes - 1);
        var tooLong = fits + "a";

        Assert.Equal(fits[5..], HaproxyAddress.Parse(fits).SocketPath);
        var e = Assert.Throws<FormatException>(() => HaproxyAddress.Parse(tooLong));
        Assert.Contains("longer than 107 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_BadValue_ThrowsLikeParse()
    {
        Assert.Throws<FormatException>(() => new HaproxyAddress("tcp:nowhere"));
        Assert.Throws<ArgumentNullException>(() => new HaproxyAddress(null!));
    }

    [Fact]
    public void TryParse_GoodValue_AddressAndNoError()
    {
        Assert.True(HaproxyAddress.TryParse("tcp:127.0.0.1:9999", out var address, out var error));
        Assert.Null(error);
        Assert.Equal(HaproxyAddress.Parse("tcp:127.0.0.1:9999"), address);
        Assert.NotEqual(HaproxyAddress.Parse("tcp:127.0.0.1:9998"), address);
    }
}
