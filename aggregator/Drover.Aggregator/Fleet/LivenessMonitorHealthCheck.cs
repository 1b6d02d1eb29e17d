using Drover.Aggregator.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Healthy while the liveness monitor keeps evaluating: an aggregator whose monitor stalled would
/// never declare a node lost, so it must not report SERVING on grpc.health.v1.
/// </summary>
internal sealed class LivenessMonitorHealthCheck(LivenessMonitor monitor, AggregatorOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var since = monitor.SinceLastEvaluation;
        var allowed = options.MonitorPeriod * 3;
        return Task.FromResult(since switch
        {
            null => HealthCheckResult.Unhealthy("The liveness monitor has not run yet."),
            var s when s > allowed => HealthCheckResult.Unhealthy($"The liveness monitor last ran {s.Value.TotalMilliseconds:0} ms ago (allowed: {allowed.TotalMilliseconds:0} ms)."),
            _ => HealthCheckResult.Healthy(),
        });
    }
}
