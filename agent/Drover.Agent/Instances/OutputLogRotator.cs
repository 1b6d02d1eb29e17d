using Drover.Agent.Configuration;

namespace Drover.Agent.Instances;

/// <summary>
/// Keeps each instance's <c>output.log</c> under <c>outputLogMaxBytes</c>: checked every
/// <see cref="CheckInterval"/>, and once at or over the cap its content moves to <c>output.log.1</c>
/// (the previous <c>output.log.1</c> is dropped) and <c>output.log</c> starts again empty.
/// </summary>
internal sealed partial class OutputLogRotator : BackgroundService
{
    /// <summary>How often the logs' sizes are looked at: a log may pass its cap by what is written in that time.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly InstanceManager _instances;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private readonly ILogger<OutputLogRotator> _logger;

    public OutputLogRotator(InstanceManager instances, AgentOptions options, TimeProvider time, ILogger<OutputLogRotator> logger)
    {
        _instances = instances;
        _maxBytes = options.OutputLogMaxBytes;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Rotates <paramref name="path"/> when it holds <paramref name="maxBytes"/> or more; true when it did.
    /// Copy, then truncate, rather than rename: the instance's process holds output.log open with
    /// O_APPEND (the launch's <c>&gt;&gt;</c>) and outlives agent restarts, so a renamed file would go on
    /// growing under its new name, while after a truncate its next write lands at the start of the
    /// emptied file. What it writes between the copy and the truncate is lost: a moment's output, once
    /// per <paramref name="maxBytes"/>.
    /// </summary>
    public static bool RotateIfOver(string path, long maxBytes)
    {
        var log = new FileInfo(path);
        if (!log.Exists || log.Length < maxBytes)
        {
            return false;
        }

        var rotated = path + ".1";
        var temporary = rotated + ".tmp";
        File.Copy(path, temporary, overwrite: true);
        File.Move(temporary, rotated, overwrite: true);
        using var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        truncate.SetLength(0);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var supervisor in _instances.All)
                {
                    var path = supervisor.Directory.OutputLog;
                    try
                    {
                        if (RotateIfOver(path, _maxBytes))
                        {
                            Log.Rotated(_logger, supervisor.InstanceId, _maxBytes);
                        }
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        Log.RotateFailed(_logger, supervisor.InstanceId, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, EventName = "OutputLogRotated", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}': output.log reached {MaxBytes} bytes and was rotated to output.log.1.")]
        public static partial void Rotated(ILogger logger, string instanceId, long maxBytes);

        [LoggerMessage(EventId = 3202, EventName = "OutputLogRotateFailed", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}': output.log could not be rotated: {Reason}.")]
        public static partial void RotateFailed(ILogger logger, string instanceId, string reason);
    }
}
