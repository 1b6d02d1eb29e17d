using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

public sealed class BackupOrderTests
{
    [Fact]
    public void Of_NoDecision_Null() => Assert.Null(BackupOrder.Of(null));

    /// <summary>
    /// Rows: clusters as name:health[:servedBy+servedBy], shares as name=share; each unhealthy
    /// cluster with its backups in order (name>b1+b2), healthy ones left out.
    /// </summary>
    [Theory]
    [InlineData("a:H,b:H", "a=0.5,b=0.5", "")]
    [InlineData("a:U:b,b:H", "b=1", "a>b")]
    [InlineData("a:U:b+c,b:H,c:H", "b=0.25,c=0.75", "a>c+b")]
    [InlineData("a:U:c+b,b:H,c:H", "b=0.5,c=0.5", "a>b+c")]
    [InlineData("a:U,b:H,c:H", "b=0.25,c=0.75", "a>c+b")]
    [InlineData("a:R,b:H,c:H", "a=0.2,b=0.4,c=0.4", "a>b+c")]
    [InlineData("a:U,b:U", "", "a>,b>")]
    [InlineData("a:U:b,b:U:a", "", "a>b,b>a")]
    public void Of_Cases(string clusters, string shares, string expected)
    {
        var statuses = clusters.Split(',').Select(c =>
        {
            var parts = c.Split(':');
            var health = parts[1] switch { "H" => ClusterHealthState.Healthy, "R" => ClusterHealthState.Recovering, _ => ClusterHealthState.Unhealthy };
            var servedBy = parts.Length > 2 ? parts[2].Split('+') : [];
            return new ClusterStatus(parts[0], "g", ClusterRole.Master, BackupMode.AllMasters, 100, 0, 2, 1, 1, health, TimeSpan.Zero, [], servedBy);
        }).ToArray();
        var shareList = shares.Length == 0 ? [] : shares.Split(',').Select(s => new ClusterShare(s.Split('=')[0], double.Parse(s.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture))).ToArray();

        var backups = BackupOrder.Of(new HealthDecision(statuses, [], shareList, false, ""))!;

        var actual = backups.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => $"{b.Key}>{string.Join('+', b.Value)}");
        Assert.Equal(expected.Length == 0 ? [] : expected.Split(','), actual);
    }
}
