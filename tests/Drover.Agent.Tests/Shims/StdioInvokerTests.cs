using System.Text;
using Drover.Agent.Instances;
using Drover.Agent.Shims;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Shims;

/// <summary>Mode stdio below the server: real processes, the instance's environment and directory.</summary>
public sealed class StdioInvokerTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"drover-stdio-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private InstanceSupervisor Instance(string script, string command = "/bin/sh")
    {
        var spec = new InstanceSpec { InstanceId = "stdio-1", Function = "fn", Shim = new ShimSpec { Mode = ShimMode.Stdio }, Process = new ProcessRuntime { Command = command } };
        spec.Process.Args.Add(["-c", script]);
        spec.Process.Env["GREETING"] = "hi";
        var directory = new InstanceDirectory(_root, spec.InstanceId);
        directory.Create();
        return new InstanceSupervisor(directory, spec, new InstanceEnvironment(4242, "token", "node-1", "/run/x.sock"), null, RestartPolicy.Default, TimeProvider.System, NullLogger.Instance, _ => { });
    }

    private static Task<StdioResult> RunAsync(StdioInvoker invoker, InstanceSupervisor instance, string body, CancellationToken timeout = default)
        => invoker.InvokeAsync(instance, new MemoryStream(Encoding.UTF8.GetBytes(body)), new Dictionary<string, string> { ["DROVER_CALL_ID"] = "c-1" }, timeout, CancellationToken.None).WaitAsync(Bound);

    [Fact]
    public async Task InvokeAsync_Cat_StdinBecomesStdout()
    {
        var result = await RunAsync(new StdioInvoker(), Instance("cat; echo"), "payload");

        Assert.Equal(StdioOutcome.Succeeded, result.Outcome);
        Assert.Equal("payload\n", Encoding.UTF8.GetString(result.Output.Span));
    }

    [Fact]
    public async Task InvokeAsync_Environment_InstanceAndCallVariablesInWorkingDirectory()
    {
        var instance = Instance("printf '%s %s %s %s' \"$GREETING\" \"$DROVER_CALL_ID\" \"$PORT\" \"$(pwd)\"");

        var result = await RunAsync(new StdioInvoker(), instance, "");

        Assert.Equal($"hi c-1 4242 {instance.Directory.Root}", Encoding.UTF8.GetString(result.Output.Span));
    }

    [Fact]
    public async Task InvokeAsync_MoreThanTheLimit_TooLarge()
    {
        var result = await RunAsync(new StdioInvoker(maxResponseBytes: 1000), Instance("head -c 5000 /dev/zero"), "");

        Assert.Equal(StdioOutcome.TooLarge, result.Outcome);
        Assert.Contains("response too large", result.Reason);
    }

    [Fact]
    public async Task InvokeAsync_ExactlyTheLimit_Succeeds()
    {
        var result = await RunAsync(new StdioInvoker(maxResponseBytes: 1000), Instance("head -c 1000 /dev/zero"), "");

        Assert.Equal(StdioOutcome.Succeeded, result.Outcome);
        Assert.Equal(1000, result.Output.Length);
    }

    [Fact]
    public async Task InvokeAsync_KilledBySignal_FailedSaysSo()
    {
        var result = await RunAsync(new StdioInvoker(), Instance("kill -9 $$"), "");

        Assert.Equal(StdioOutcome.Failed, result.Outcome);
        Assert.Contains("was killed by signal 9", result.Reason);
    }

    [Fact]
    public async Task InvokeAsync_Timeout_KilledTimedOut()
    {
        using var timeout = new CancellationTokenSource();
        var running = RunAsync(new StdioInvoker(), Instance("echo started >&2; exec sleep 30"), "", timeout.Token);

        await timeout.CancelAsync();
        var result = await running;

        Assert.Equal(StdioOutcome.TimedOut, result.Outcome);
        Assert.Contains("was killed", result.Reason);
    }

    [Fact]
    public async Task InvokeAsync_MissingCommand_StartFailed()
    {
        var instance = Instance("true", command: "/nonexistent/program");

        var result = await RunAsync(new StdioInvoker(), instance, "");

        Assert.Equal(StdioOutcome.StartFailed, result.Outcome);
        Assert.Contains("/nonexistent/program", result.Reason);
    }
}
