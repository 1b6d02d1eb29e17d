using Drover.Agent.Configuration;

namespace Drover.Agent.Tests.Instances;

/// <summary>
/// The runtime allowlist the agent tests' instances run under: every command they start, and
/// nothing else (an agent's allowlist is empty, and refuses everything, unless configured).
/// </summary>
internal static class TestRuntimes
{
    public static List<RuntimeEntry> Allowlist() => [new RuntimeEntry { Path = "/bin/sh" }, new RuntimeEntry { Path = "/bin/sleep" }];
}
