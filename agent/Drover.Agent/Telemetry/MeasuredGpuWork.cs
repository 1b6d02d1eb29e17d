using Drover.Agent.Configuration;
using Drover.Agent.Instances;

namespace Drover.Agent.Telemetry;

/// <summary>An instance that runs under the CUDA launch probe: its id (its folder of pages), its user (who owns them) and its GPUs.</summary>
/// <param name="InstanceId">The instance; its pages are in <c>&lt;gpuProbeDirectory&gt;/&lt;id&gt;/</c>.</param>
/// <param name="Uid">The user its processes run as: a page owned by anyone else is not read.</param>
/// <param name="GpuUuids">The GPUs its spec gives it; empty: every GPU of the node.</param>
internal sealed record ProbedInstance(string InstanceId, uint Uid, IReadOnlyCollection<string> GpuUuids);

/// <summary>
/// The command-queue length the CUDA launch probe measures: at each sample, the pages of the probed instances'
/// processes are found (one directory listing per instance, not per launch), mapped once, and read; their in-flight
/// counts are added per GPU. A page whose process is gone is unmapped and deleted (an instance killed mid-burst leaves
/// no count behind); one whose probe stopped publishing for <see cref="AgentOptions.GpuProbeStaleness"/> (a hung or
/// stopped process) no longer counts, and the GPU's queue comes from its other sources. Used by the sampling loop
/// only; reads and writes happen under one lock.
/// </summary>
internal sealed partial class MeasuredGpuWork : IDisposable
{
    /// <summary>The most pages read per instance (processes using CUDA at once), so an instance cannot make the agent map without end.</summary>
    public const int MaxPagesPerInstance = 256;

    /// <summary>The most work one page counts for on one GPU, as for an instance's report (<see cref="ReportedGpuWork.MaxInFlightPerInstance"/>).</summary>
    public const ulong MaxInFlightPerPage = ReportedGpuWork.MaxInFlightPerInstance;

    private readonly string _root;
    private readonly TimeSpan _staleness;
    private readonly TimeProvider _time;
    private readonly ILogger<MeasuredGpuWork> _logger;
    private readonly Func<IEnumerable<ProbedInstance>> _instances;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Instance, string Name), Tracked> _pages = [];
    private Dictionary<string, (double Length, TimeSpan Age)> _byGpu = new(StringComparer.Ordinal);

    /// <param name="options">The agent's settings: the pages' root and their staleness.</param>
    /// <param name="time">The clock a page's last publication is aged on.</param>
    /// <param name="logger">Where pages found and dropped are logged (debug).</param>
    /// <param name="instances">The instances running with the probe now.</param>
    public MeasuredGpuWork(AgentOptions options, TimeProvider time, ILogger<MeasuredGpuWork> logger, Func<IEnumerable<ProbedInstance>> instances)
    {
        _root = options.GpuProbeRoot;
        _staleness = options.GpuProbeStaleness;
        _time = time;
        _logger = logger;
        _instances = instances;
    }

    /// <summary>
    /// Reads every probed instance's pages again; <paramref name="nodeGpus"/> are the node's GPU UUIDs (an instance
    /// without GPUs of its own may count on any of them). A page's devices count only on the GPUs its instance was given.
    /// </summary>
    public void Refresh(IReadOnlyCollection<string> nodeGpus)
    {
        var now = _time.GetTimestamp();
        var sums = new Dictionary<string, (double Length, TimeSpan Age)>(StringComparer.Ordinal);
        lock (_lock)
        {
            var seen = new HashSet<(string, string)>();
            foreach (var instance in _instances())
            {
                var gpus = instance.GpuUuids.Count > 0 ? instance.GpuUuids : nodeGpus;
                var byTail = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var gpu in gpus)
                {
                    if (gpu.Length > 4)
                    {
                        byTail[gpu[4..]] = gpu;
                    }
                }

                ReadInstance(instance, byTail, now, seen, sums);
            }

            foreach (var gone in _pages.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                _pages.Remove(gone, out var tracked);
                tracked!.Page?.Dispose();
            }

            _byGpu = sums;
        }
    }

    /// <summary>
    /// The GPU's measured command-queue length: submitted and not completed, summed over the fresh pages that count on
    /// it; <paramref name="age"/> is the newest publication's age. False when no fresh page counts on it.
    /// </summary>
    public bool TryGetQueueLength(string gpuUuid, out double length, out TimeSpan age)
    {
        length = 0;
        age = TimeSpan.Zero;
        lock (_lock)
        {
            if (gpuUuid.Length <= 4 || !_byGpu.TryGetValue(gpuUuid, out var measured))
            {
                return false;
            }

            (length, age) = measured;
            return true;
        }
    }

    private void ReadInstance(ProbedInstance instance, Dictionary<string, string> byTail, long now, HashSet<(string, string)> seen, Dictionary<string, (double Length, TimeSpan Age)> sums)
    {
        DirectoryHandle? folder;
        try
        {
            folder = DirectoryHandle.Open(Path.Combine(_root, instance.InstanceId));
        }
        catch (IOException)
        {
            return; // a link where the folder should be: nothing of the probe's
        }

        if (folder is null)
        {
            return;
        }

        using (folder)
        {
            var names = folder.Names().Where(n => n.EndsWith(".page", StringComparison.Ordinal)).Take(MaxPagesPerInstance);
            foreach (var name in names)
            {
                var key = (instance.InstanceId, name);
                seen.Add(key);
                if (!_pages.TryGetValue(key, out var tracked))
                {
                    tracked = new Tracked { Page = Open(folder, name, instance.Uid), ChangedAt = now };
                    _pages[key] = tracked;
                }

                // A page not (yet) mapped: the probe creates the file, then sizes it; tried again at the next sample.
                if (tracked.Page is null)
                {
                    tracked.Page = Open(folder, name, instance.Uid);
                    if (tracked.Page is null)
                    {
                        DropIfDead(folder, name, tracked, PidOf(name), null);
                        continue;
                    }
                }

                var snapshot = tracked.Page.Read();
                if (DropIfDead(folder, name, tracked, snapshot?.Pid ?? PidOf(name), snapshot?.StartTime))
                {
                    _pages.Remove(key);
                    seen.Remove(key);
                    continue;
                }

                if (snapshot is null)
                {
                    continue;
                }

                if (snapshot.Publishes != tracked.Publishes)
                {
                    tracked.Publishes = snapshot.Publishes;
                    tracked.ChangedAt = now;
                }

                var since = _time.GetElapsedTime(tracked.ChangedAt, now);
                if (since > _staleness)
                {
                    continue; // its probe stopped publishing: the process is hung or stopped
                }

                foreach (var device in snapshot.Devices)
                {
                    if (!byTail.TryGetValue(device.UuidTail, out var gpu))
                    {
                        continue; // a GPU the instance was not given, or not this node's
                    }

                    var inFlight = Math.Min(device.InFlight, MaxInFlightPerPage);
                    sums[gpu] = sums.TryGetValue(gpu, out var sum)
                        ? (sum.Length + inFlight, since < sum.Age ? since : sum.Age)
                        : (inFlight, since);
                }
            }
        }
    }

    /// <summary>The page <paramref name="name"/> mapped, when it is a regular file of the probe's size owned by <paramref name="uid"/>.</summary>
    private static GpuProbePage? Open(DirectoryHandle folder, string name, uint uid)
    {
        var (file, stat, _) = folder.OpenFile(name, uid);
        if (file is null)
        {
            return null;
        }

        if (stat.Size != GpuProbePage.FileBytes)
        {
            file.Dispose();
            return null;
        }

        try
        {
            return GpuProbePage.Map(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Unmaps and deletes the page when its process is gone (by pid and start time when the page says them, else by the
    /// pid in its name); true when it did.
    /// </summary>
    private bool DropIfDead(DirectoryHandle folder, string name, Tracked tracked, int pid, long? startTime)
    {
        var alive = pid > 0 && (startTime is { } start ? ProcessInfo.IsSame(pid, start) : ProcessInfo.StartTime(pid) is not null);
        if (alive)
        {
            return false;
        }

        tracked.Page?.Dispose();
        tracked.Page = null;
        try
        {
            folder.Delete(name);
        }
        catch (IOException)
        {
            // Gone already.
        }

        Log.PageDropped(_logger, name, pid);
        return true;
    }

    private static int PidOf(string name)
        => int.TryParse(name.AsSpan(0, name.Length - ".page".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) ? pid : 0;

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var tracked in _pages.Values)
            {
                tracked.Page?.Dispose();
            }

            _pages.Clear();
        }
    }

    private sealed class Tracked
    {
        public GpuProbePage? Page { get; set; }

        public ulong Publishes { get; set; }

        public long ChangedAt { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2310, EventName = "GpuProbePageDropped", Level = LogLevel.Debug,
            Message = "The CUDA launch probe's page '{Name}' is dropped: its process {Pid} is gone.")]
        public static partial void PageDropped(ILogger logger, string name, int pid);
    }
}
