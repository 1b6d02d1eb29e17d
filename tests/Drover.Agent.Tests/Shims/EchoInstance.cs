using System.Net;
using System.Text.Json;
using Drover.Agent.Instances;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Drover.Agent.Tests.Shims;

/// <summary>
/// A real Kestrel server standing in for an instance's program on the instance's PORT; its process
/// (the supervisor's) is a plain <c>sleep</c>, so a test can kill it mid-request. Paths: anything
/// echoes method, path, query, call id and body as JSON; <c>/hold</c> waits until released;
/// <c>/unhealthy</c> answers 503; <c>/die</c> kills the instance's process with SIGKILL and drops the connection.
/// </summary>
internal sealed class EchoInstance : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private EchoInstance(WebApplication app) => _app = app;

    private int _unhealthyProbes;

    /// <summary>How many GET /unhealthy (answered 503) arrived.</summary>
    public int UnhealthyProbes => Volatile.Read(ref _unhealthyProbes);

    /// <summary>Completes once a /hold request arrived.</summary>
    public Task Held => _held.Task;

    public void Release() => _release.TrySetResult();

    public static async Task<EchoInstance> StartAsync(InstanceSupervisor supervisor)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, supervisor.Port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var echo = new EchoInstance(app);
        app.Run(context => echo.HandleAsync(context, supervisor));
        await app.StartAsync().WaitAsync(ShimHarness.Bound);
        return echo;
    }

    private async Task HandleAsync(HttpContext context, InstanceSupervisor supervisor)
    {
        if (context.Request.Path == "/unhealthy")
        {
            Interlocked.Increment(ref _unhealthyProbes);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (context.Request.Path == "/hold")
        {
            _held.TrySetResult();
            await _release.Task.WaitAsync(ShimHarness.Bound);
        }
        else if (context.Request.Path == "/die")
        {
            var pid = supervisor.CurrentPid;
            System.Diagnostics.Process.GetProcessById(pid).Kill();
            await ShimHarness.WaitUntilAsync(() => supervisor.LastEnded.Pid == pid, "the supervisor saw the kill");
            context.Abort();
            return;
        }

        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            method = context.Request.Method,
            path = context.Request.Path.Value,
            query = context.Request.QueryString.Value,
            callId = context.Request.Headers["X-Drover-Call-Id"].ToString(),
            routeInstance = context.Request.Headers["X-Drover-Route-Instance"].ToString(),
            apiKey = context.Request.Headers["X-Drover-Api-Key"].ToString(),
            shimCredential = context.Request.Headers["X-Drover-Shim-Credential"].ToString(),
            body,
        }));
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.DisposeAsync();
    }
}
