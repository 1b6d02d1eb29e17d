using Drover.Decisions.Placement;

namespace Drover.Decisions.Tests.Placement;

public sealed class SettingsFollowUpTests
{
    /// <summary>Rows: what was handed (key=version:fingerprint), what is defined now; the keys to resend.</summary>
    [Theory]
    [InlineData("", "f=1:a", "")]
    [InlineData("f=1:a", "f=1:a", "")]
    [InlineData("f=1:a", "f=1:b", "f")]
    [InlineData("f=1:a", "f=2:b", "")]
    [InlineData("f=1:a", "", "")]
    [InlineData("f=1:a,g=1:a", "g=1:b,f=1:b,h=1:c", "f,g")]
    public void ToResend_Cases(string handed, string now, string expected)
    {
        var resend = SettingsFollowUp.ToResend(Parse(handed), Parse(now));

        Assert.Equal(expected.Length == 0 ? [] : expected.Split(','), resend);
    }

    private static Dictionary<string, HandedSettings> Parse(string settings)
        => settings.Length == 0
            ? new Dictionary<string, HandedSettings>(StringComparer.Ordinal)
            : settings.Split(',').Select(s => s.Split('=', ':')).ToDictionary(p => p[0], p => new HandedSettings(p[1], p[2]), StringComparer.Ordinal);
}
