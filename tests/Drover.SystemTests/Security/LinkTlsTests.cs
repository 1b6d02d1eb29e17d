using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Security;

/// <summary>
/// Issue 14: the agent link over mutual TLS with the real binaries and certificates made by
/// <c>drover-aggregator certs</c>: a fleet works over it end to end, an agent holding another
/// node's certificate does not start, an agent that cannot verify the aggregator does not connect,
/// and neither end runs without certificates unless told <c>insecure: true</c>.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class LinkTlsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly Fleet _fleet = new(output, linkTls: true);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task TlsFleet_NodesNamedByTheirCertificates_RunAFunction_AndAnotherNodesCertificateIsRefused()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
        _fleet.StartAgent("a1", serverNumber: 1);
        _fleet.StartAgent("a2", serverNumber: 2);
        await _fleet.WaitForAliveCountAsync(2, Timeout);
        Assert.Equal(["a1", "a2"], (await _fleet.NodesAsync()).Select(n => n.GetProperty("nodeId").GetString()).Order(StringComparer.Ordinal));

        using (var put = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", new { runtime = new { type = "process", command = Repository.Counter } }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        await Fleet.WaitUntilAsync(
            async () => (await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances"))!.Count(i => i.GetProperty("state").GetString() == "running") == 2,
            Timeout,
            "the counter runs on both nodes over the TLS link");

        // a1's state directory with a2's certificate: the agent refuses to start as either.
        var agent = _fleet.StartAgent("a1", serverNumber: 1, extraArgs:
        [
            "--linkCertificateFile", Path.Combine(_fleet.CertificateDirectory, "a2.crt"),
            "--linkKeyFile", Path.Combine(_fleet.CertificateDirectory, "a2.key"),
        ]);
        Assert.Equal(78, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("linkCertificateFile names node 'a2', but stateDirectory", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agent_TrustingAnotherCa_DoesNotConnectAndSaysWhy()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
        var other = Path.Combine(_fleet.Directory, "other-ca");
        _fleet.Certs("init", "--dir", other);

        _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--linkCaFile", Path.Combine(other, "ca.crt")]);

        var log = Path.Combine(_fleet.Directory, "agents", "a1", "agent.log");
        await Fleet.WaitUntilAsync(
            () => Task.FromResult(Fleet.ReadLog(log).Contains("was refused: certificate 'CN=aggregator'", StringComparison.Ordinal)),
            Timeout,
            "the agent refuses the aggregator's certificate",
            () => Task.FromResult(Fleet.ReadLog(log)));
        Assert.Empty(await _fleet.NodesAsync());
    }

    [Theory]
    [InlineData("aggregator")]
    [InlineData("agent")]
    public async Task NoCertificatesAndNotInsecure_ExitsWith78NamingTheKey(string program)
    {
        var dir = Path.Combine(_fleet.Directory, program);
        string[] args = program == "aggregator"
            ? ["--dataDirectory", Path.Combine(dir, "data"), "--logFile", "", "--httpPort", $"{Ports.Free()}", "--linkPort", $"{Ports.Free()}"]
            : ["--serverNumber", "1", "--stateDirectory", Path.Combine(dir, "state"), "--logFile", ""];
        await using var process = ChildProcess.Start(program == "aggregator" ? Repository.Aggregator : Repository.Agent, args, Path.Combine(_fleet.Directory, $"{program}.log"));

        Assert.Equal(78, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("linkCertificateFile", process.Output, StringComparison.Ordinal);
        Assert.Contains("insecure: true", process.Output, StringComparison.Ordinal);
    }
}
