using Drover.Aggregator.Configuration;

namespace Drover.Aggregator.Access;

/// <summary>What the aggregator says at every start about who may use its management API.</summary>
internal static partial class ApiAccessLog
{
    public static void AtStart(ILogger logger, AggregatorOptions options, ApiTokenStore tokens)
    {
        if (options.InsecureApi)
        {
            Insecure(logger, options.ListenAddress, options.HttpPort);
        }
        else if (tokens.Count == 0)
        {
            NoTokens(logger, options.ApiTokensFile);
        }
        else
        {
            TokensLoaded(logger, tokens.Count, options.ApiTokensFile);
        }
    }

    [LoggerMessage(EventId = 1503, EventName = "ApiInsecure", Level = LogLevel.Warning,
        Message = "insecureApi is true: anyone who reaches {Address}:{Port} may read and change everything, secrets and commands included, without a token. Use it only on loopback.")]
    private static partial void Insecure(ILogger logger, string address, int port);

    [LoggerMessage(EventId = 1504, EventName = "ApiNoTokens", Level = LogLevel.Warning,
        Message = "No API tokens in '{File}' (apiTokensFile): every management API request will be refused 401. Create one with: drover-aggregator tokens add --name NAME --role admin --file {File}")]
    private static partial void NoTokens(ILogger logger, string file);

    [LoggerMessage(EventId = 1505, EventName = "ApiTokensLoaded", Level = LogLevel.Information,
        Message = "The management API accepts {Count} token(s) from '{File}'.")]
    private static partial void TokensLoaded(ILogger logger, int count, string file);
}
