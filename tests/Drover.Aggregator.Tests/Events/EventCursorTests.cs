using Drover.Aggregator.Events;

namespace Drover.Aggregator.Tests.Events;

public class EventCursorTests
{
    [Fact]
    public void Parse_Formatted_RoundTrips()
    {
        var (cursor, error) = EventCursor.Parse("function/counter:12,service/web:3");

        Assert.Null(error);
        Assert.Equal(12UL, cursor!.Get("function/counter"));
        Assert.Equal(3UL, cursor.Get("service/web"));
        Assert.Null(cursor.Get("function/web"));
        Assert.Equal("function/counter:12,service/web:3", cursor.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Parse_Empty_IsAnEmptyCursor(string? text)
    {
        var (cursor, error) = EventCursor.Parse(text);

        Assert.Null(error);
        Assert.Equal(0, cursor!.Count);
        Assert.Equal("", cursor.ToString());
    }

    [Theory]
    [InlineData("function/counter")]
    [InlineData("function/counter:")]
    [InlineData("function/counter:-1")]
    [InlineData("function/counter:1x")]
    [InlineData("function/counter:18446744073709551616")]
    [InlineData("queue/counter:1")]
    [InlineData("function/Counter:1")]
    [InlineData("function/counter:1,")]
    [InlineData("function/a:1,function/a:2")]
    public void Parse_Bad_IsRefusedWithAReason(string text)
    {
        var (cursor, error) = EventCursor.Parse(text);

        Assert.Null(cursor);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Parse_TooManyChannels_IsRefused()
    {
        var text = string.Join(',', Enumerable.Range(0, EventCursor.MaxChannels + 1).Select(i => $"function/f{i}:1"));

        var (cursor, error) = EventCursor.Parse(text);

        Assert.Null(cursor);
        Assert.Contains($"at most {EventCursor.MaxChannels}", error);
    }

    [Fact]
    public void Advance_BeyondMaxChannels_ForgetsTheLeastRecentlyAdvanced()
    {
        var cursor = new EventCursor();
        for (var i = 0; i < EventCursor.MaxChannels; i++)
        {
            cursor.Advance($"function/f{i}", 1);
        }

        cursor.Advance("function/f0", 2);
        cursor.Advance("function/new", 1);

        Assert.Equal(EventCursor.MaxChannels, cursor.Count);
        Assert.Equal(2UL, cursor.Get("function/f0"));
        Assert.Null(cursor.Get("function/f1"));
        Assert.Equal(1UL, cursor.Get("function/new"));
        Assert.EndsWith("function/f0:2,function/new:1", cursor.ToString(), StringComparison.Ordinal);
    }
}
