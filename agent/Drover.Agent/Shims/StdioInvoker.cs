using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Drover.Agent.Instances;

namespace Drover.Agent.Shims;

/// <summary>
/// Mode stdio, like OpenFaaS's classic watchdog: one process per request, running the instance's
/// command with its environment and working directory; the request body on its stdin, its stdout the
/// response body; its stderr appended to the instance's output.log.
/// </summary>
internal sealed class StdioInvoker
{
    /// <summary>The most a process may write to stdout; more is a 502 "response too large".</summary>
    public const int DefaultMaxResponseBytes = 16 * 1024 * 1024;

    private const int FirstLineLimit = 512;

    public StdioInvoker(int maxResponseBytes = DefaultMaxResponseBytes) => MaxResponseBytes = maxResponseBytes;

    public int MaxResponseBytes { get; }

    /// <summary>
    /// Runs one process for one request. <paramref name="timeout"/> kills it with a TimedOut answer,
    /// <paramref name="aborted"/> (the client left) with an Aborted one.
    /// </summary>
    public async Task<StdioResult> InvokeAsync(InstanceSupervisor instance, Stream requestBody, IReadOnlyDictionary<string, string> callEnvironment, CancellationToken timeout, CancellationToken aborted)
    {
        var spec = instance.Spec.Process;
        var argv = instance.Runtime.Argv(spec.Args);
        var info = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            WorkingDirectory = instance.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in argv.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Clear();
        foreach (var (key, value) in instance.ProcessEnvironment())
        {
            info.Environment[key] = value;
        }

        foreach (var (key, value) in callEnvironment)
        {
            info.Environment[key] = value;
        }

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or IOException)
        {
            return new StdioResult(StdioOutcome.StartFailed, 0, default, $"its command '{spec.Command}' could not be started: {ex.Message}");
        }

        var pid = process.Id;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout, aborted);
        var stdout = ReadBoundedAsync(process.StandardOutput.BaseStream, linked);
        var stderr = AppendStderrAsync(process.StandardError.BaseStream, instance.Directory.OutputLog);
        var stdin = WriteStdinAsync(process.StandardInput.BaseStream, requestBody, linked.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token);

            // A child the process left behind may hold its stdout open: the timeout bounds that too.
            var output = await stdout.WaitAsync(linked.Token);
            await stdin;
            var firstLine = await stderr;
            if (output is null)
            {
                return new StdioResult(StdioOutcome.TooLarge, pid, default, $"its process {pid} wrote more than {MaxResponseBytes} bytes (response too large)");
            }

            if (process.ExitCode != 0)
            {
                var exit = ExitStatus.FromExitCode(process.ExitCode);
                var detail = firstLine.Length > 0 ? $": {firstLine}" : " (no stderr)";
                return new StdioResult(StdioOutcome.Failed, pid, default, $"its process {pid} {exit}{detail}");
            }

            return new StdioResult(StdioOutcome.Succeeded, pid, output.Value, "");
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await ObserveAsync(stdout, stdin, stderr);
            if (stdout.IsCompletedSuccessfully && stdout.Result is null)
            {
                return new StdioResult(StdioOutcome.TooLarge, pid, default, $"its process {pid} wrote more than {MaxResponseBytes} bytes (response too large) and was killed");
            }

            return timeout.IsCancellationRequested
                ? new StdioResult(StdioOutcome.TimedOut, pid, default, $"its process {pid} did not finish within the request's timeout and was killed")
                : new StdioResult(StdioOutcome.Aborted, pid, default, $"the client went away; process {pid} was killed");
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }
    }

    private static async Task ObserveAsync(params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or TimeoutException or ObjectDisposedException)
        {
            // The pipes of a killed process: nothing more to read.
        }
    }

    /// <summary>Stdout up to the limit; null (and the process cancelled) when it writes more.</summary>
    private async Task<ReadOnlyMemory<byte>?> ReadBoundedAsync(Stream stdout, CancellationTokenSource linked)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var read = await stdout.ReadAsync(chunk, CancellationToken.None);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > MaxResponseBytes)
            {
                await linked.CancelAsync();
                return null;
            }

            buffer.Write(chunk, 0, read);
        }
    }

    private static async Task WriteStdinAsync(Stream stdin, Stream body, CancellationToken cancellationToken)
    {
        try
        {
            await body.CopyToAsync(stdin, cancellationToken);
        }
        catch (IOException)
        {
            // The process exited (or closed stdin) without reading it all: its answer still counts.
        }
        finally
        {
            try
            {
                await stdin.DisposeAsync();
            }
            catch (IOException)
            {
                // Broken pipe on close: same as above.
            }
        }
    }

    /// <summary>Appends stderr to output.log; returns its first line (for the 502's reason).</summary>
    private static async Task<string> AppendStderrAsync(Stream stderr, string outputLog)
    {
        var first = new List<byte>();
        var firstDone = false;
        FileStream? log = null;
        try
        {
            log = new FileStream(outputLog, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The log cannot be written: stderr is still read, for the first line and so the process never blocks.
        }

        await using (log)
        {
            var chunk = new byte[16 * 1024];
            while (true)
            {
                var read = await stderr.ReadAsync(chunk, CancellationToken.None);
                if (read == 0)
                {
                    break;
                }

                for (var i = 0; i < read && !firstDone; i++)
                {
                    if (chunk[i] == (byte)'\n' || first.Count >= FirstLineLimit)
                    {
                        firstDone = true;
                    }
                    else
                    {
                        first.Add(chunk[i]);
                    }
                }

                if (log is not null)
                {
                    await log.WriteAsync(chunk.AsMemory(0, read));
                }
            }
        }

        return Encoding.UTF8.GetString(first.ToArray()).TrimEnd('\r').Trim();
    }
}
