using Drover.Cli.Tests.Infrastructure;

namespace Drover.Cli.Tests.Commands;

public sealed class CompletionCommandTests : IDisposable
{
    private readonly CliRun _cli = new();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("bash", "complete -o default -o bashdefault -F _droverctl droverctl")]
    [InlineData("zsh", "compdef _droverctl droverctl")]
    public async Task Completion_Shell_ItsScriptAskingTheSuggestDirective(string shell, string registers)
    {
        var result = await _cli.RunAsync("completion", shell);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("[suggest:", result.Out, StringComparison.Ordinal);
        Assert.Contains(registers, result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completion_UnknownShell_Exits2()
        => Assert.Equal(ExitCodes.Usage, (await _cli.RunAsync("completion", "powershell")).ExitCode);

    [Theory]
    // What the scripts ask: the whole line (the program's name first) and the cursor's position.
    [InlineData("droverctl nod", "nodes")]
    [InlineData("droverctl fun", "function\nfunctions")]
    [InlineData("/usr/local/bin/droverctl clu", "clusters")]
    [InlineData("droverctl nodes -o ", "json\ntable")]
    [InlineData("droverctl events --fo", "--follow")]
    [InlineData("droverctl completion z", "zsh")]
    public async Task SuggestDirective_Line_CompletesCommandsOptionsAndValues(string line, string expected)
    {
        var result = await _cli.RunAsync($"[suggest:{line.Length}]", line);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal(expected, result.Out.TrimEnd('\n'));
    }
}
