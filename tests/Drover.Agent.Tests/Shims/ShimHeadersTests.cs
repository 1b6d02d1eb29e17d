using Drover.Agent.Shims;
using Drover.Protocol.Http;

namespace Drover.Agent.Tests.Shims;

public sealed class ShimHeadersTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public void ParseCallId_Absent_NewGuidInFormatN()
    {
        var (callId, error) = ShimHeaders.ParseCallId(null);

        Assert.Null(error);
        Assert.Matches("^[0-9a-f]{32}$", callId);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("order 42/retry:1")]
    [InlineData("~!@#$%^&*()")]
    public void ParseCallId_PrintableAscii_Kept(string value) => Assert.Equal((value, (string?)null), ShimHeaders.ParseCallId(value));

    [Fact]
    public void ParseCallId_128Characters_Kept() => Assert.Null(ShimHeaders.ParseCallId(new string('x', 128)).Error);

    [Theory]
    [InlineData(129)]
    [InlineData(4000)]
    public void ParseCallId_TooLong_Refused(int length)
    {
        var (callId, error) = ShimHeaders.ParseCallId(new string('x', length));

        Assert.Null(callId);
        Assert.Contains("at most 128", error);
    }

    [Theory]
    [InlineData("caf\u00e9")]
    [InlineData("tab\there")]
    [InlineData("nul\0")]
    [InlineData("del\u007f")]
    public void ParseCallId_NotPrintableAscii_Refused(string value)
    {
        var (callId, error) = ShimHeaders.ParseCallId(value);

        Assert.Null(callId);
        Assert.Contains("printable ASCII", error);
    }

    [Theory]
    [InlineData(null, 30_000)]
    [InlineData("", 30_000)]
    [InlineData("1", 1)]
    [InlineData("2500", 2500)]
    [InlineData("30000", 30_000)]
    [InlineData("45000", 30_000)]
    [InlineData("99999999999999999", 30_000)]
    [InlineData("999999999999999999999999", 30_000)]
    public void ParseTimeout_Valid_BoundedByTheWorkload(string? value, int expectedMs)
    {
        var (timeout, error) = ShimHeaders.ParseTimeout(value, Limit);

        Assert.Null(error);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), timeout);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("abc")]
    [InlineData(" 10")]
    [InlineData("00")]
    public void ParseTimeout_NotAPositiveInteger_Refused(string value)
    {
        var (timeout, error) = ShimHeaders.ParseTimeout(value, Limit);

        Assert.Null(timeout);
        Assert.Contains(DroverHeaders.TimeoutMs, error);
    }
}
