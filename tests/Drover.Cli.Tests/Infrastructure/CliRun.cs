using System.Text;

namespace Drover.Cli.Tests.Infrastructure;

/// <summary>Runs droverctl's command line in the test's process, with an environment of the test's own and captured output.</summary>
internal sealed class CliRun : IDisposable
{
    /// <summary>The environment droverctl sees; HOME and XDG_CONFIG_HOME point into a fresh folder, so no real config file is read.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public string Home { get; } = Directory.CreateTempSubdirectory("droverctl-test-").FullName;

    public string Stdin { get; set; } = "";

    public bool Terminal { get; set; }

    public int TerminalWidth { get; set; } = 200;

    public string? ExecutablePath { get; set; }

    public CliRun()
    {
        Environment["HOME"] = Home;
    }

    /// <summary>Writes the config file where droverctl looks for it under <see cref="Home"/>.</summary>
    public string WriteConfig(string json)
    {
        var path = Path.Combine(Home, ".config", "drover", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    public async Task<Result> RunAsync(params string[] args)
    {
        var output = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        var error = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        var host = new CliHost
        {
            Out = output,
            Error = error,
            In = new StringReader(Stdin),
            Environment = name => Environment.TryGetValue(name, out var value) ? value : null,
            OutIsTerminal = Terminal,
            TerminalWidth = TerminalWidth,
            ExecutablePath = ExecutablePath,
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var code = await DroverCtl.RunAsync(args, host, timeout.Token);
        return new Result(code, output.ToString(), error.ToString());
    }

    public void Dispose() => Directory.Delete(Home, recursive: true);

    /// <summary>What a run left: its exit code, stdout and stderr.</summary>
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";
    }
}
