namespace Drover.Hosting.Tests;

public sealed class ProgramVersionTests
{
    [Fact]
    public void TryPrint_VersionFlag_PrintsTheRepositoryVersionWithoutTheRevision()
    {
        using var output = new StringWriter();

        Assert.True(ProgramVersion.TryPrint(["--version"], "drover-agent", typeof(ProgramVersion).Assembly, output));

        var printed = output.ToString().TrimEnd();
        Assert.Matches(@"^drover-agent \d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", printed);
        Assert.Equal($"drover-agent {ProgramVersion.Of(typeof(ProgramVersion).Assembly)}", printed);
    }

    [Theory]
    [InlineData]
    [InlineData("--config", "x.json")]
    [InlineData("--version", "--config", "x.json")]
    public void TryPrint_OtherArguments_PrintsNothing(params string[] args)
    {
        using var output = new StringWriter();

        Assert.False(ProgramVersion.TryPrint(args, "drover-agent", typeof(ProgramVersion).Assembly, output));
        Assert.Equal("", output.ToString());
    }
}
