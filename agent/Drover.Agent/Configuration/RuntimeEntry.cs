namespace Drover.Agent.Configuration;

/// <summary>
/// One entry of the agent's runtime allowlist (<c>runtimes</c>): an executable, or a directory whose
/// executables (at any depth) instances may run, with the user they run as and the protected
/// environment variables the aggregator may set for them.
/// </summary>
internal sealed class RuntimeEntry
{
    /// <summary>
    /// An absolute path without <c>.</c> or <c>..</c> segments: an executable, or a directory. Symbolic
    /// links in it are resolved when a command is checked, as they are in the command.
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>
    /// The unprivileged user the instances of this runtime run as (its primary group and
    /// supplementary groups too); empty to run them as the agent's own user.
    /// </summary>
    public string User { get; set; } = "";

    /// <summary>
    /// Protected environment variables (<c>DROVER_*</c>, <c>LD_*</c>, <c>CUDA_*</c>, <c>PATH</c>)
    /// the aggregator may set for this runtime, by exact name.
    /// </summary>
    public List<string> Env { get; set; } = [];
}
