using System.Reflection;

namespace Drover.Hosting;

/// <summary>
/// The repository's one version (<c>Version</c> in Directory.Build.props): what <c>--version</c> prints, what an
/// agent's Hello carries, and what the packages are named with.
/// </summary>
public static class ProgramVersion
{
    /// <summary>The version <paramref name="assembly"/> was built with, without the source revision suffix (<c>+sha</c>).</summary>
    public static string Of(Assembly assembly)
        => (assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>
    /// When <paramref name="args"/> is <c>--version</c> (alone), writes "<paramref name="program"/> version" to
    /// <paramref name="output"/> and returns true: the program then exits 0 without reading its configuration.
    /// </summary>
    public static bool TryPrint(string[] args, string program, Assembly assembly, TextWriter output)
    {
        if (args is not ["--version"])
        {
            return false;
        }

        output.WriteLine($"{program} {Of(assembly)}");
        return true;
    }
}
