using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Drover.Gateway.Tests;

/// <summary>What a <see cref="FakeShim"/> does with a request.</summary>
internal enum ShimBehavior
{
    /// <summary>Answers 200 with the method, path, query and body, and the shim's X-Drover-Node/Instance headers.</summary>
    Echo,

    /// <summary>Like <see cref="Echo"/> without X-Drover-Node.</summary>
    EchoWithoutNodeHeader,

    /// <summary>Reads the whole body, then aborts the connection without answering.</summary>
    Abort,

    /// <summary>Waits for <see cref="FakeShim.Release"/>, then echoes.</summary>
    Hold,
}

/// <summary>A node's shim as the gateway sees it: a real Kestrel server on 127.0.0.1:0.</summary>
internal sealed class FakeShim : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _received;

    private FakeShim(string nodeId, WebApplication app)
    {
        NodeId = nodeId;
        _app = app;
    }

    public string NodeId { get; }

    public ShimBehavior Behavior { get; set; }

    /// <summary>Requests that reached it, answered or not.</summary>
    public int Received => Volatile.Read(ref _received);

    public string Endpoint { get; private set; } = "";

    /// <summary>Completes when a <see cref="ShimBehavior.Hold"/> request has arrived.</summary>
    public Task Held => _held.Task;

    public void Release() => _release.TrySetResult();

    public static async Task<FakeShim> StartAsync(string nodeId, ITestOutputHelper output, ShimBehavior behavior = ShimBehavior.Echo)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new TestOutputLoggerProvider(output, nodeId));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var shim = new FakeShim(nodeId, app) { Behavior = behavior };
        app.Run(shim.HandleAsync);
        await app.StartAsync().WaitAsync(GatewayHarness.Bound);
        shim.Endpoint = new Uri(app.Urls.First()).Authority;
        return shim;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _received);
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        switch (Behavior)
        {
            case ShimBehavior.Abort:
                context.Abort();
                return;
            case ShimBehavior.Hold:
                _held.TrySetResult();
                await _release.Task.WaitAsync(GatewayHarness.Bound, context.RequestAborted);
                break;
        }

        if (Behavior != ShimBehavior.EchoWithoutNodeHeader)
        {
            context.Response.Headers["X-Drover-Node"] = NodeId;
        }

        context.Response.Headers["X-Drover-Instance"] = NodeId + "-instance";
        await context.Response.WriteAsync($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n{body}", context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await _app.DisposeAsync();
    }
}
