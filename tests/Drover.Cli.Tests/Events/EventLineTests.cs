using Drover.Cli.Events;

namespace Drover.Cli.Tests.Events;

public sealed class EventLineTests
{
    [Theory]
    [InlineData(
        "completed",
        """{"channel":"function/counter","sequence":12,"function":"counter","callId":"c-1","status":"completed","method":"POST","path":"/v1/invoke/counter","headers":{},"nodeId":"gpu-a","instanceId":"counter-1","statusCode":200,"durationMs":35,"reason":"","at":"2025-01-01T00:00:01+00:00"}""",
        "2025-01-01T00:00:01+00:00  function/counter#12  completed  c-1  POST /v1/invoke/counter  node gpu-a  instance counter-1  200  35ms")]
    [InlineData(
        "accepted",
        """{"channel":"function/counter","sequence":11,"function":"counter","callId":"c-1","status":"accepted","method":"POST","path":"/","headers":{},"nodeId":"gpu-a","instanceId":"","statusCode":0,"durationMs":0,"reason":"","at":"2025-01-01T00:00:00+00:00"}""",
        "2025-01-01T00:00:00+00:00  function/counter#11  accepted  c-1  POST /  node gpu-a")]
    [InlineData(
        "cluster-health",
        """{"channel":"cluster/c1","sequence":3,"cluster":"c1","from":"healthy","to":"unhealthy","survivors":1,"minSurvivors":2,"total":3,"servedBy":["c2"],"reason":"1 of 3 nodes survive","at":"2025-01-01T00:00:02+00:00"}""",
        "2025-01-01T00:00:02+00:00  cluster/c1#3  cluster-health  healthy -> unhealthy  survivors 1/3 (threshold 2)  served by c2  1 of 3 nodes survive")]
    [InlineData(
        "decision",
        """{"channel":"decisions/counter","sequence":5,"function":"counter","decision":{"at":"2025-01-01T00:00:03+00:00","kind":"move","function":"counter","instanceId":"counter-2","fromNodeId":"gpu-b","toNodeId":"gpu-a","restoredStateVersion":4,"reason":"gpu-b was lost","outcome":"started","inputs":null}}""",
        "2025-01-01T00:00:03+00:00  decisions/counter#5  decision  move  counter-2  gpu-b -> gpu-a  started  gpu-b was lost")]
    [InlineData("anything", "not json", "anything not json")]
    public void Format_Event_OneLineOfWhatMatters(string name, string data, string expected)
        => Assert.Equal(expected, EventLine.Format(new ServerSentEvent("id", name, data)));
}
