using System.Globalization;
using Drover.Agent.Configuration;
using Drover.Protocol.V1;

namespace Drover.Agent.Link;

/// <summary>
/// The newest leadership (store id and term) this agent has accepted from an aggregator's Welcome, kept
/// in <c>stateDirectory/leader-term</c> so that a restarted agent still refuses a deposed leader: with
/// several aggregators, one cut off from the store may go on believing it leads, and without the fence it
/// could start or stop instances behind the new leader's back. The link judges each Welcome here, sends
/// the kept term in its Hello, and the dispatcher refuses commands of an older term.
/// </summary>
internal sealed partial class LeaderTermMemory
{
    public const string FileName = "leader-term";

    private readonly string _path;
    private readonly ILogger<LeaderTermMemory> _logger;
    private readonly Lock _gate = new();
    private volatile LeaderTerm? _kept;

    public LeaderTermMemory(AgentOptions options, ILogger<LeaderTermMemory> logger)
    {
        _path = Path.Combine(options.StateDirectory, FileName);
        _logger = logger;
        _kept = Read();
    }

    /// <summary>The newest leadership accepted, or null when none has been (never given out for changing).</summary>
    public LeaderTerm? Kept => _kept;

    /// <summary>
    /// The judgement on a Welcome's leadership, pure so that it is table-tested. Terms compare only within
    /// one store: a new store starts from 1 again. An offer without a store id names nothing to count in
    /// and is taken as no offer, like an aggregator older than terms.
    /// </summary>
    public static LeaderVerdict Judge(LeaderTerm? kept, LeaderTerm? offered)
    {
        if (offered is null || offered.StoreId.Length == 0 || kept is null)
        {
            return LeaderVerdict.Accept;
        }

        if (!string.Equals(kept.StoreId, offered.StoreId, StringComparison.Ordinal))
        {
            return LeaderVerdict.AdoptNewStore;
        }

        return offered.Term < kept.Term ? LeaderVerdict.Refuse : LeaderVerdict.Accept;
    }

    /// <summary>
    /// Whether a command of <paramref name="commandTerm"/>, which arrived while <paramref name="arrivedInStore"/> was
    /// the kept store, comes from a deposed leader: one of an older term of the kept store, or one of a store the
    /// agent has left since (its terms count apart, so its number says nothing). Term 0 is an aggregator older than
    /// terms, carried out as before.
    /// </summary>
    public static bool IsDeposed(LeaderTerm? kept, string? arrivedInStore, ulong commandTerm)
        => kept is not null && commandTerm != 0
            && (commandTerm < kept.Term || !string.Equals(arrivedInStore, kept.StoreId, StringComparison.Ordinal));

    /// <summary>
    /// Judges a Welcome's leadership and, when it is accepted and newer than the kept one (or of another
    /// store), keeps it, on disk before the stream is used, so a crash right after cannot forget it.
    /// </summary>
    public LeaderVerdict Offer(LeaderTerm? offered)
    {
        lock (_gate)
        {
            var kept = _kept;
            var verdict = Judge(kept, offered);
            var newer = verdict == LeaderVerdict.AdoptNewStore
                || (verdict == LeaderVerdict.Accept && offered is { StoreId.Length: > 0 } && (kept is null || offered.Term > kept.Term));
            if (newer)
            {
                var taken = offered!.Clone();
                Write(taken);
                _kept = taken;
            }

            return verdict;
        }
    }

    /// <summary>Reads the kept leadership; a missing file is none kept, an unreadable or corrupt one too, with a warning.</summary>
    private LeaderTerm? Read()
    {
        string text;
        try
        {
            if (!File.Exists(_path))
            {
                return null;
            }

            text = File.ReadAllText(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.Unreadable(_logger, _path, ex.Message);
            return null;
        }

        // One line: the store id, a space, the term. The store id is whatever precedes the last space.
        var line = text.TrimEnd();
        var space = line.LastIndexOf(' ');
        if (space <= 0 || !ulong.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var term))
        {
            Log.Unreadable(_logger, _path, "it does not hold a store id and a term");
            return null;
        }

        return new LeaderTerm { StoreId = line[..space], Term = term };
    }

    /// <summary>
    /// Writes atomically (temporary file, flush to disk, rename), so a crash leaves the old term or the new
    /// one, never half a line. A write that fails keeps the term in memory only: refusing the stream for
    /// it would leave the node without any aggregator.
    /// </summary>
    private void Write(LeaderTerm leader)
    {
        var temporary = _path + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(leader.StoreId);
                writer.Write(' ');
                writer.Write(leader.Term.ToString(CultureInfo.InvariantCulture));
                writer.Write('\n');
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.NotWritten(_logger, _path, leader.StoreId, leader.Term, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2117, EventName = "LeaderTermUnreadable", Level = LogLevel.Warning,
            Message = "The kept leader term '{Path}' cannot be read: {Reason}. No term is kept until the next Welcome names one.")]
        public static partial void Unreadable(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 2118, EventName = "LeaderTermNotWritten", Level = LogLevel.Warning,
            Message = "Term {Term} of store '{StoreId}' could not be written to '{Path}': {Reason}. It is kept in memory only, until the agent stops.")]
        public static partial void NotWritten(ILogger logger, string path, string storeId, ulong term, string reason);
    }
}
