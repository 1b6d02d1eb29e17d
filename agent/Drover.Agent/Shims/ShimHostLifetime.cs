namespace Drover.Agent.Shims;

/// <summary>
/// The shim's web application lives inside the agent's host, which owns signals and systemd: this
/// lifetime does nothing, so the inner application neither handles SIGTERM nor announces itself.
/// </summary>
internal sealed class ShimHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
