namespace Drover.SystemTests.Dashboard;

/// <summary>
/// A fact that drives Debian's chromium (<c>/usr/bin/chromium</c>, or <c>$DROVER_CHROMIUM</c>): skipped, naming why and
/// how to install it, only where it is not installed (make test installs it when it can: make test-tools).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable))
        {
            Skip = $"chromium is not installed at '{Executable}' and could not be installed: make test installs it as root "
                + "(apt-get install chromium); the dashboard's browser test drives Debian's chromium and downloads no browser";
        }
    }

    /// <summary>The browser the test launches through Playwright's ExecutablePath.</summary>
    public static string Executable { get; } = Environment.GetEnvironmentVariable("DROVER_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";
}
