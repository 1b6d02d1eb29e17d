using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Drover.Hosting;

/// <summary>
/// What a program exits with once its host has stopped. A <see cref="BackgroundService"/> that throws
/// stops the host (BackgroundServiceExceptionBehavior.StopHost, the default), but until .NET 11 the
/// host's RunAsync still completes as if all were well, and the process exits 0: systemd's
/// Restart=on-failure would leave a crashed daemon down. Here any failed loop makes it 70 (EX_SOFTWARE).
/// </summary>
public static class HostExit
{
    /// <summary>Starts the host, waits for it to stop, and says what the process exits with.</summary>
    public static async Task<int> RunAsync(IHost host, Serilog.ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            await host.StartAsync();
        }
        catch (OperationCanceledException) when (FailedServices(host.Services).Count > 0)
        {
            // A loop failed while the host was still starting: its stop cancelled the rest of the
            // start (Kestrel's bind, say). That failure, not the cancellation, is what to report.
        }

        return await AfterShutdownAsync(host, logger);
    }

    /// <summary>Waits for a started host to stop (without disposing it), then says what the process exits with.</summary>
    public static async Task<int> AfterShutdownAsync(IHost host, Serilog.ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        await host.WaitForShutdownAsync();
        return CodeAfterStop(host.Services, logger);
    }

    /// <summary>The loops that ended by throwing, by type name, with their exceptions.</summary>
    public static IReadOnlyList<(string Service, Exception Error)> FailedServices(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var failed = new List<(string, Exception)>();
        foreach (var service in services.GetServices<IHostedService>())
        {
            if (service is BackgroundService { ExecuteTask: { IsFaulted: true } task })
            {
                failed.Add((service.GetType().Name, task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException! : task.Exception));
            }
        }

        return failed;
    }

    /// <summary>0 when every loop ended cleanly; otherwise logs each failure and returns <see cref="ExitCodes.Software"/>.</summary>
    public static int CodeAfterStop(IServiceProvider services, Serilog.ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var failed = FailedServices(services);
        foreach (var (service, error) in failed)
        {
            logger.Fatal(error, "{Service} failed and stopped the process; exiting with {ExitCode} so that the service manager restarts it.", service, ExitCodes.Software);
        }

        return failed.Count == 0 ? ExitCodes.Success : ExitCodes.Software;
    }
}
