namespace Drover.Agent.Shims;

/// <summary>How one stdio-mode process ended.</summary>
internal enum StdioOutcome
{
    /// <summary>Exited with 0: its stdout is the response.</summary>
    Succeeded,

    /// <summary>Exited otherwise (a code or a signal): 502.</summary>
    Failed,

    /// <summary>Could not be started: 502.</summary>
    StartFailed,

    /// <summary>Wrote more than the response limit: killed, 502.</summary>
    TooLarge,

    /// <summary>Ran past the request's timeout: killed, 504.</summary>
    TimedOut,

    /// <summary>The client went away: killed.</summary>
    Aborted,
}
