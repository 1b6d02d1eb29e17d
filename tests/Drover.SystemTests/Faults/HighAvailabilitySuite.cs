namespace Drover.SystemTests.Faults;

/// <summary>
/// The system tests of several aggregators on PostgreSQL (issue 21): `make test-ha` runs them, `make test` leaves them
/// out until they pass every time on a loaded 2-core host. On such a host a leader can still stall for seconds on its
/// synchronous store writes and lose its lease with no fault injected (README, "Several aggregators, one leader").
/// </summary>
internal static class HighAvailabilitySuite
{
    public const string Name = "HighAvailability";
}
