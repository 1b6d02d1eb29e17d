using System.Net;
using Drover.SystemTests.Infrastructure;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Drover.SystemTests.Heartbeats;

/// <summary>Each listener answers what belongs to it: gRPC (agent link, health) on the link port, the HTTP API on the HTTP port.</summary>
public sealed class ListenerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Fleet _fleet = new(output);

    public async Task InitializeAsync()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task GrpcHealth_OnLinkPort_IsServing()
    {
        using var channel = GrpcChannel.ForAddress(_fleet.LinkAddress);
        var health = new Health.HealthClient(channel);

        var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task HttpApi_OnLinkPort_IsNotServed()
    {
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var response = await http2.GetAsync($"{_fleet.LinkAddress}/v1/nodes");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
