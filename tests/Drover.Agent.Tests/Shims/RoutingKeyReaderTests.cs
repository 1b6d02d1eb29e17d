using System.Text;
using Drover.Agent.Shims;

namespace Drover.Agent.Tests.Shims;

public sealed class RoutingKeyReaderTests
{
    [Theory]
    [InlineData("""{"user":"alice","n":1}""", "user", "alice")]
    [InlineData("""{"n":1,"user":"al\u0069ce"}""", "user", "alice")]
    [InlineData("""{"shard":42}""", "shard", "42")]
    [InlineData("""{"shard":4.50}""", "shard", "4.50")]
    [InlineData("""{"on":true}""", "on", "true")]
    [InlineData("""{"a":{"user":"nested"},"user":"top"}""", "user", "top")]
    [InlineData("""{"key":{"x":[1,2]}}""", "key", """{"x":[1,2]}""")]
    [InlineData("""{"key":[1, 2]}""", "key", "[1, 2]")]
    public void FindField_TopLevelField_RawText(string json, string field, string expected)
        => Assert.Equal(expected, Encoding.UTF8.GetString(RoutingKeyReader.FindField(Encoding.UTF8.GetBytes(json), field)!));

    [Theory]
    [InlineData("""{"other":"x"}""")]
    [InlineData("""{"a":{"user":"nested"}}""")]
    [InlineData("""["user"]""")]
    [InlineData("not json")]
    [InlineData("""{"user":""")]
    [InlineData("")]
    public void FindField_AbsentOrNotAnObject_Null(string json)
        => Assert.Null(RoutingKeyReader.FindField(Encoding.UTF8.GetBytes(json), "user"));
}
