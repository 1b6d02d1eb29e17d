using Drover.SystemTests.Infrastructure;

namespace Drover.SystemTests.Faults;

/// <summary>
/// One of several aggregators on one PostgreSQL (<see cref="HaFleet"/>): its folder's name under the fleet, its ports,
/// the arguments it was started with (so that it can be started again as its service manager would), its process and
/// its log file.
/// </summary>
internal sealed record HaAggregator(string Name, int HttpPort, int LinkPort, string[] Args, ChildProcess Process, string Log)
{
    public override string ToString() => Name;
}
