using Drover.Aggregator.Access;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// A follower's definitions: the leader takes the API's changes (a follower forwards them), so a follower reads the
/// functions, services and invocation keys again every second, which its gateway checks requests against (a key made
/// on the leader opens a follower's gateway within about a second; a key removed closes it as soon).
/// </summary>
internal sealed partial class DefinitionRefresher(
    FunctionRegistry functions,
    ServiceRegistry services,
    InvocationKeyStore keys,
    TimeProvider time,
    ILogger<DefinitionRefresher> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string? failing = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Period, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                functions.Reload();
                services.Reload();
                keys.Reload();
                failing = null;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or InvalidDataException)
            {
                if (failing is null)
                {
                    Log.Failed(logger, ex.Message);
                }

                failing = ex.Message;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1925, EventName = "DefinitionsReadFailed", Level = LogLevel.Warning,
            Message = "Cannot read the definitions again from the store: {Reason}. The gateway checks requests against the last ones read.")]
        public static partial void Failed(ILogger logger, string reason);
    }
}
