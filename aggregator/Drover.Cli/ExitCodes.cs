namespace Drover.Cli;

/// <summary>
/// What droverctl's exit code tells a script (README, "droverctl"). <c>certs</c> is the exception: it passes
/// <c>drover-aggregator certs</c>'s own code through.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The aggregator refused or failed the request (a 4xx other than 401, 403 and 404, or a 5xx); its problem detail went to stderr.</summary>
    public const int Refused = 1;

    /// <summary>A bad command line, configuration or input document: nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>The aggregator could not be reached (connection refused, a name that does not resolve, no answer within the timeout).</summary>
    public const int Unreachable = 3;

    /// <summary>The aggregator refused the token: none or an unknown one (401), or one whose role may not do this (403).</summary>
    public const int TokenRefused = 4;

    /// <summary>What was asked for does not exist (404).</summary>
    public const int NotFound = 5;

    /// <summary><c>certs</c>: no <c>drover-aggregator</c> beside droverctl nor on PATH (a shell's "command not found").</summary>
    public const int CommandNotFound = 127;
}
