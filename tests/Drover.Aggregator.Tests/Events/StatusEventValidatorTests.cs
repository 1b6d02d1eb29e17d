using Drover.Aggregator.Events;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Tests.Events;

public class StatusEventValidatorTests
{
    private static StatusEvent Good() => new()
    {
        Channel = "function/counter",
        CallId = "c-1",
        Status = RequestStatus.Completed,
        Method = "POST",
        Path = "/?x=1",
        InstanceId = "counter-0",
        StatusCode = 200,
        DurationMs = 12.5,
        Headers = { ["x-tenant"] = "t1" },
    };

    [Fact]
    public void Validate_Good_IsAccepted() => Assert.Null(StatusEventValidator.Validate(Good()));

    [Theory]
    [InlineData("")]
    [InlineData("function/")]
    [InlineData("function/-a")]
    [InlineData("function/A")]
    [InlineData("functions/a")]
    [InlineData("service/a/b")]
    [InlineData("function/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Validate_BadChannel_IsRefusedNamingTheField(string channel)
    {
        var statusEvent = Good();
        statusEvent.Channel = channel;

        Assert.StartsWith("statusEvent.channel", StatusEventValidator.Validate(statusEvent), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LongestName_IsAccepted()
    {
        var statusEvent = Good();
        statusEvent.Channel = "service/" + new string('a', 63);

        Assert.Null(StatusEventValidator.Validate(statusEvent));
    }

    public static TheoryData<string, Action<StatusEvent>> BadFields => new()
    {
        { "callId", e => e.CallId = new string('c', StatusEventValidator.MaxCallIdLength + 1) },
        { "callId", e => e.CallId = "tab\there" },
        { "status", e => e.Status = RequestStatus.Unspecified },
        { "status", e => e.Status = (RequestStatus)99 },
        { "method", e => e.Method = new string('M', StatusEventValidator.MaxMethodLength + 1) },
        { "path", e => e.Path = "/" + new string('p', StatusEventValidator.MaxPathLength) },
        { "headers", e => e.Headers.Add(Enumerable.Range(0, StatusEventValidator.MaxHeaders).ToDictionary(i => $"h{i}", _ => "v")) },
        { "headers", e => e.Headers["x-big"] = new string('v', StatusEventValidator.MaxHeaderValueLength + 1) },
        { "instanceId", e => e.InstanceId = new string('i', StatusEventValidator.MaxInstanceIdLength + 1) },
        { "reason", e => e.Reason = new string('r', StatusEventValidator.MaxReasonLength + 1) },
        { "durationMs", e => e.DurationMs = double.NaN },
        { "durationMs", e => e.DurationMs = -1 },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Validate_FieldOutOfBounds_IsRefusedNamingTheField(string field, Action<StatusEvent> breakIt)
    {
        var statusEvent = Good();
        breakIt(statusEvent);

        Assert.StartsWith($"statusEvent.{field}", StatusEventValidator.Validate(statusEvent), StringComparison.Ordinal);
    }
}
