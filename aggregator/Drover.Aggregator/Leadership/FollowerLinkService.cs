using Drover.Aggregator.Configuration;
using Drover.Protocol.V1;
using Grpc.Core;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// A follower's agent link: every stream is answered at once with a <see cref="Redirect"/> to the leader's link (or
/// none, while no leader is reachable: the agent tries its next address after its backoff), and ended. A follower
/// keeps no node: agents stay connected to the leader alone, so telemetry reaches the one process that decides on it
/// with no relay, and a leader change costs each agent one reconnect.
/// </summary>
/// <remarks>
/// Just after this aggregator is elected, its follower's listeners still answer while the leading application opens
/// its own beside them: a stream that reaches the follower then is told no leader is known yet, so the agent asks
/// again after its initial backoff, and reaches the leader's listener, rather than following a redirect to itself.
/// </remarks>
internal sealed partial class FollowerLinkService(LeaderElection election, AggregatorOptions options, Fleet.AggregatorIdentity identity, ILogger<FollowerLinkService> logger) : AgentLink.AgentLinkBase
{
    public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<AggregatorMessage> responseStream, ServerCallContext context)
    {
        var redirect = new Redirect();
        if (election.Observed is { } leader && leader.Reachable(options.LeaderRenewal) && leader.Holder != identity.Id)
        {
            redirect.LeaderAddress = leader.LinkUrl;
            redirect.LeaderId = leader.Holder ?? "";
        }

        Log.Redirected(logger, context.Peer, redirect.LeaderAddress.Length > 0 ? redirect.LeaderAddress : "none: no leader is reachable");
        await responseStream.WriteAsync(new AggregatorMessage { Redirect = redirect }, context.CancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1922, EventName = "AgentRedirected", Level = LogLevel.Debug,
            Message = "An agent ({Peer}) was sent to the leader: {Leader}.")]
        public static partial void Redirected(ILogger logger, string peer, string leader);
    }
}
