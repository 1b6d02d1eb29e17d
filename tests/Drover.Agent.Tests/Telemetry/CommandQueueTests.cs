using Drover.Agent.Telemetry;
using Drover.Nvml;

namespace Drover.Agent.Tests.Telemetry;

public class CommandQueueTests
{
    [Theory]
    [InlineData(0, 0u, 0.0)]
    [InlineData(3, 0u, 0.0)]     // contexts held, nothing running
    [InlineData(2, 50u, 1.0)]
    [InlineData(4, 100u, 4.0)]
    [InlineData(0, 40u, 0.4)]    // busy, processes invisible (another PID namespace): one process
    [InlineData(1, 250u, 1.0)]   // utilization clamped to 100
    public void Estimate_ProcessesWeightedByUtilization(int processes, uint utilization, double expected)
        => Assert.Equal(expected, CommandQueue.Estimate(processes, utilization), precision: 9);

    [Theory]
    [InlineData(GpuEventTypes.XidCriticalError, 79UL, 79U)]
    [InlineData(GpuEventTypes.XidCriticalError, 13UL, 13U)]
    [InlineData(GpuEventTypes.DoubleBitEccError, 0UL, 48U)]
    [InlineData(GpuEventTypes.GpuUnavailableError, 0UL, 79U)]
    public void XidOf_EventType_MapsToXid(GpuEventTypes type, ulong data, uint expected)
        => Assert.Equal(expected, XidEventLoop.XidOf(new GpuEvent("GPU-1", type, data)));
}
