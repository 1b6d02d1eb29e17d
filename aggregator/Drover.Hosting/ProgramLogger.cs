using System.Globalization;
using Serilog;
using Serilog.Events;

namespace Drover.Hosting;

/// <summary>
/// The Serilog logger both programs write with: the console always (in the journal's format when the console is
/// the journal, see <see cref="JournalFormatter"/>), and a size-capped file when one is configured. Sinks are set up
/// in code: a file sink configured only in JSON writes nothing under NativeAOT.
/// </summary>
public static class ProgramLogger
{
    /// <summary>The largest a log file grows before it rolls over.</summary>
    public const long FileSizeLimitBytes = 64L * 1024 * 1024;

    /// <summary>How many rolled log files are kept.</summary>
    public const int RetainedFiles = 7;

    /// <summary>
    /// Where Kestrel names why it cut a client (request headers too slow, a body below the minimum data
    /// rate, a malformed request), and only at Debug: kept at Debug so that every cut a peer causes
    /// leaves a line naming the cause. One line per bad request; the file's size cap bounds a flood.
    /// </summary>
    public const string KestrelBadRequests = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";

    /// <param name="level">The configured level (Verbose, Debug, Information, Warning, Error, Fatal), already validated.</param>
    /// <param name="logFile">The file to write besides the console; empty for the console only.</param>
    /// <param name="quieter">Source prefixes held at Warning besides the framework's (Microsoft, Grpc).</param>
    public static Serilog.Core.Logger Create(string level, string? logFile, params string[] quieter)
    {
        ArgumentNullException.ThrowIfNull(quieter);
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(Enum.Parse<LogEventLevel>(level, ignoreCase: true))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
            .MinimumLevel.Override(KestrelBadRequests, LogEventLevel.Debug);
        foreach (var source in quieter)
        {
            config.MinimumLevel.Override(source, LogEventLevel.Warning);
        }

        config.Enrich.FromLogContext();
        if (JournalFormatter.StandardOutputIsJournal())
        {
            config.WriteTo.Console(new JournalFormatter());
        }
        else
        {
            config.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}", formatProvider: CultureInfo.InvariantCulture);
        }

        if (!string.IsNullOrEmpty(logFile))
        {
            config.WriteTo.File(
                logFile,
                outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                formatProvider: CultureInfo.InvariantCulture,
                fileSizeLimitBytes: FileSizeLimitBytes,
                rollOnFileSizeLimit: true,
                retainedFileCountLimit: RetainedFiles,
                rollingInterval: RollingInterval.Infinite);
        }

        return config.CreateLogger();
    }
}
