using System.Collections.Concurrent;
using System.Net;
using Drover.Protocol.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Drover.Agent.Tests.Link;

/// <summary>
/// An aggregator's link endpoint on 127.0.0.1 (plain-text HTTP/2) that answers every Hello with what
/// <see cref="Answer"/> gives: a Redirect ends the stream, as a follower does; anything else keeps it open
/// until the agent closes its side. Only the first answer is scripted: enough for the link's handshake.
/// </summary>
internal sealed class FakeAggregator : IAsyncDisposable
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;

    private FakeAggregator(WebApplication app, LinkService service)
    {
        _app = app;
        Service = service;
        Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    }

    /// <summary>The link address, as an agent's configuration names it (http://127.0.0.1:port).</summary>
    public string Address { get; }

    /// <summary>The first message of every stream, chosen from its Hello; settable while running.</summary>
    public Func<Hello, AggregatorMessage> Answer
    {
        get => Service.Answer;
        set => Service.Answer = value;
    }

    /// <summary>Every Hello received, in order.</summary>
    public IReadOnlyList<Hello> Hellos => [.. Service.Hellos];

    private LinkService Service { get; }

    public static async Task<FakeAggregator> StartAsync(Func<Hello, AggregatorMessage> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        var service = new LinkService { Answer = answer };
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<LinkService>();
        await app.StartAsync().WaitAsync(Bound);
        return new FakeAggregator(app, service);
    }

    public static AggregatorMessage Welcome(string aggregatorId, LeaderTerm? leader = null)
        => new() { Welcome = new Welcome { AggregatorId = aggregatorId, Leader = leader } };

    public static AggregatorMessage Redirect(string leaderAddress, string leaderId = "")
        => new() { Redirect = new Redirect { LeaderAddress = leaderAddress, LeaderId = leaderId } };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Bound);
        await _app.DisposeAsync();
    }

    private sealed class LinkService : AgentLink.AgentLinkBase
    {
        public ConcurrentQueue<Hello> Hellos { get; } = new();

        public required Func<Hello, AggregatorMessage> Answer { get; set; }

        public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<AggregatorMessage> responseStream, ServerCallContext context)
        {
            if (!await requestStream.MoveNext(context.CancellationToken))
            {
                return;
            }

            var hello = requestStream.Current.Hello;
            Hellos.Enqueue(hello);
            var answer = Answer(hello);
            await responseStream.WriteAsync(answer, context.CancellationToken);
            if (answer.KindCase == AggregatorMessage.KindOneofCase.Redirect)
            {
                return;
            }

            try
            {
                while (await requestStream.MoveNext(context.CancellationToken))
                {
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
                // The agent refused the stream or went away: what some tests wait for.
            }
        }
    }
}
