using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

public class RestartPolicyTests
{
    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(3, 400)]
    [InlineData(7, 6400)]
    [InlineData(8, 10_000)]   // capped
    [InlineData(50, 10_000)]
    public void DelayAfter_Streak_DoublesFrom100MsToTheCap(int crashes, int expectedMs)
        => Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RestartPolicy.Default.DelayAfter(crashes));

    [Theory]
    [InlineData(5, false)]
    [InlineData(6, true)]
    public void IsCrashLoop_AboveTheLimit_IsTrue(int crashes, bool expected)
        => Assert.Equal(expected, RestartPolicy.Default.IsCrashLoop(crashes));

    [Theory]
    [InlineData(0, 0, "exited with code 0")]
    [InlineData(1, 0, "exited with code 1")]
    [InlineData(137, 9, "was killed by signal 9")]
    [InlineData(143, 15, "was killed by signal 15")]
    public void ExitStatus_FromDotnetExitCode_SeparatesSignals(int code, int signal, string text)
    {
        var status = ExitStatus.FromExitCode(code);

        Assert.Equal(signal, status.Signal);
        Assert.Equal(text, status.ToString());
    }
}
