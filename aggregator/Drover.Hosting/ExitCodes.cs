namespace Drover.Hosting;

/// <summary>What the programs exit with; the systemd units restart on anything but 0 and <see cref="Configuration"/>.</summary>
public static class ExitCodes
{
    /// <summary>A clean stop.</summary>
    public const int Success = 0;

    /// <summary>EX_SOFTWARE from sysexits.h: a loop that must not die died. systemd's Restart=on-failure restarts it.</summary>
    public const int Software = 70;

    /// <summary>EX_CONFIG from sysexits.h: a configuration error; the units do not restart on it (RestartPreventExitStatus=78).</summary>
    public const int Configuration = 78;
}
