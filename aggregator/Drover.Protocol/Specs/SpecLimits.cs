using System.Text.RegularExpressions;

namespace Drover.Protocol.Specs;

/// <summary>
/// The bounds of an InstanceSpec: what the aggregator accepts in a definition and what the agent
/// accepts in a StartInstance, one set of numbers and rules for both programs.
/// </summary>
public static partial class SpecLimits
{
    /// <summary>Arguments and environment entries of a process runtime, and the length of each string.</summary>
    public const int MaxArgs = 256;
    public const int MaxEnv = 256;
    public const int MaxStringLength = 4096;

    /// <summary>The SLO: requests one instance serves at once.</summary>
    public const int MaxConcurrency = 10_000;

    /// <summary>Requests that may wait on one node.</summary>
    public const int MaxQueueLength = 100_000;

    /// <summary>The longest a request may take, waiting included.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>Request headers copied into status messages.</summary>
    public const int MaxEventHeaders = 32;

    /// <summary>The most invocation keys one function or service has (every hash goes in its ShimSpec and routing table).</summary>
    public const int MaxInvocationKeys = 100;

    /// <summary>Whether <paramref name="hashes"/> is a valid list of key hashes: at most <see cref="MaxInvocationKeys"/>, each a SHA-256 in lowercase hexadecimal.</summary>
    public static bool AreKeyHashes(IReadOnlyCollection<string> hashes)
        => hashes.Count <= MaxInvocationKeys && hashes.All(Security.InvocationKeys.IsHash);

    public const int MaxHealthPathLength = 1024;

    /// <summary>An environment variable's name: <c>[A-Za-z_][A-Za-z0-9_]*</c>, at most 128 characters.</summary>
    public static bool IsEnvName(string? name) => name is not null && EnvName().IsMatch(name);

    /// <summary>An HTTP header name: 1-128 of RFC 9110's token characters.</summary>
    public static bool IsHeaderName(string? name) => name is not null && HeaderName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvName();

    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]{1,128}$")]
    private static partial Regex HeaderName();
}
