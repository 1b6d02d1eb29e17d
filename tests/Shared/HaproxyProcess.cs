using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
namespace Drover.Testing;

/// <summary>
/// A real HAProxy for a test: a fresh temp directory, a configuration written there (a <c>global</c> section with
/// an admin stats socket in the directory, a <c>defaults</c> section in HTTP mode, then the test's own sections),
/// <c>haproxy -f &lt;cfg&gt; -db</c> in the foreground with its output captured, and on dispose the process tree
/// killed and the directory removed. The binary is Debian's package; a missing one fails the test, never skips it.
/// </summary>
internal sealed class HaproxyProcess : IAsyncDisposable
{
    public const string ConfigFileName = "haproxy.cfg";
    public const string SocketFileName = "admin.sock";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HaproxyProcess(string directory, Process process)
    {
        Directory = directory;
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The temp directory holding the configuration and the stats socket.</summary>
    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, SocketFileName);

    /// <summary>The Runtime API at <c>level admin</c>, as a balancer registration names it.</summary>
    public string RuntimeApi => "unix:" + SocketPath;

    public int Pid => _process.Id;

    /// <summary>What HAProxy printed so far (its notices, warnings and alerts go to stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// The path to the haproxy binary: from PATH, else Debian's <c>/usr/sbin/haproxy</c> (an unprivileged user's
    /// PATH often lacks /usr/sbin). Throws, failing the test, when there is none.
    /// </summary>
    public static string FindBinary()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "haproxy"))
            .Append("/usr/sbin/haproxy");
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "haproxy is not installed (not on PATH, not at /usr/sbin/haproxy): these tests run the real HAProxy. "
                + "`make test` installs it (apt-get install haproxy); on a Debian or Ubuntu machine run `sudo apt-get install haproxy`.");
    }

    /// <summary>
    /// The whole configuration for <paramref name="sections"/> (backends, frontends, written as in haproxy.cfg):
    /// the stats socket at <paramref name="socketPath"/>, <c>level admin</c>, closing idle CLI connections after 2 s.
    /// </summary>
    public static string Config(string socketPath, string sections)
        => $"""
            global
                stats socket {socketPath} mode 600 level admin
                stats timeout 2s

            defaults
                mode http
                timeout connect 1s
                timeout client 10s
                timeout server 10s

            {sections.Trim()}

            """;

    /// <summary>
    /// Writes the configuration for <paramref name="sections"/> into a fresh temp directory, starts HAProxy on it and
    /// returns once its stats socket accepts connections. HAProxy stopping first (a configuration error) fails with its output.
    /// </summary>
    public static async Task<HaproxyProcess> StartAsync(string sections)
    {
        var binary = FindBinary();

        // Short: a Unix socket path holds at most 107 bytes.
        var directory = System.IO.Directory.CreateTempSubdirectory("drover-haproxy-").FullName;
        var config = Path.Combine(directory, ConfigFileName);
        await File.WriteAllTextAsync(config, Config(Path.Combine(directory, SocketFileName), sections));

        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(config);
        info.ArgumentList.Add("-db");
        var process = Process.Start(info) ?? throw new InvalidOperationException($"'{binary}' did not start.");
        var haproxy = new HaproxyProcess(directory, process);
        try
        {
            await haproxy.WaitForSocketAsync();
            return haproxy;
        }
        catch
        {
            await haproxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// One command on the stats socket, as <c>echo "&lt;command&gt;" | socat - UNIX:&lt;socket&gt;</c> sends it: the whole
    /// reply, read until HAProxy closes the connection (non-interactive mode).
    /// </summary>
    public async Task<string> CommandAsync(string command)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, timeout.Token);
        using var reply = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            reply.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(reply.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessTree.KillAsync(_process);
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private async Task WaitForSocketAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(); // flushes the redirected output
                throw new InvalidOperationException(
                    $"haproxy exited with code {_process.ExitCode} before opening its stats socket:\n{Output}\nConfiguration:\n{await File.ReadAllTextAsync(Path.Combine(Directory, ConfigFileName))}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
                    return;
                }
                catch (SocketException)
                {
                    // Bound but not listening yet.
                }
            }

            if (deadline.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"haproxy did not open its stats socket within {StartTimeout.TotalSeconds} s:\n{Output}");
            }

            // An outside process comes up on its own time: there is no clock of ours to advance.
            await Task.Delay(20);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
