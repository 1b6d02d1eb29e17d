namespace Drover.Protocol.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("a", true)]
    [InlineData("Node_1.a-b", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("a b", false)]
    [InlineData("a/b", false)]
    [InlineData("é", false)]
    public void IsId_Cases(string? value, bool expected) => Assert.Equal(expected, Names.IsId(value));

    [Fact]
    public void IsId_Lengths_AtMostTheMaximum()
    {
        Assert.True(Names.IsId(new string('a', Names.MaxIdLength)));
        Assert.False(Names.IsId(new string('a', Names.MaxIdLength + 1)));
        Assert.False(Names.IsId("abcd", maxLength: 3));
    }

    [Theory]
    [InlineData("abc", -1)]
    [InlineData("ab c", 2)]
    [InlineData("/x", 0)]
    public void IndexOfNonIdChar_Cases(string value, int expected) => Assert.Equal(expected, Names.IndexOfNonIdChar(value));

    [Theory]
    [InlineData("counter", true)]
    [InlineData("c1", true)]
    [InlineData("a-b", true)]
    [InlineData("-a", false)]
    [InlineData("Counter", false)]
    [InlineData("a_b", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsName_Cases(string? value, bool expected) => Assert.Equal(expected, Names.IsName(value));

    [Fact]
    public void IsName_Lengths_AtMost63()
    {
        Assert.True(Names.IsName(new string('a', 63)));
        Assert.False(Names.IsName(new string('a', 64)));
    }
}
