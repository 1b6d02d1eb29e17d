using System.Text.Json;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Tests.State;
using Drover.Decisions.Health;

namespace Drover.Aggregator.Tests.Clusters;

public sealed class ClusterRegistryTests : IDisposable
{
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    private AggregatorOptions Options() => new()
    {
        DataDirectory = _data.Path,
        MinimumSurvivalRatio = 0.6,
        Clusters = new(StringComparer.Ordinal)
        {
            ["c1"] = new ClusterOptions { Weight = 300, Role = "standby", MinSurvivors = 2, Group = "west" },
        },
        ClusterGroups = new(StringComparer.Ordinal) { ["west"] = new ClusterGroupOptions { Mode = "masters-standbys" } },
    };

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void Settings_ConfiguredSeenAndDefaulted_OrderedByName()
    {
        var registry = new ClusterRegistry(Options());

        var settings = registry.Settings(["c9", "c1"]);

        Assert.Equal(
            [new HealthCluster("c1", "west", ClusterRole.Standby, 300, 0, 2, 0.6), new HealthCluster("c9", "default", ClusterRole.Master, 100, 0, null, 0.6)],
            settings);
        Assert.Equal(BackupMode.MastersStandbys, registry.Modes()["west"]);
    }

    [Fact]
    public void Put_FieldsGiven_OverrideConfigurationAndSurviveARestart()
    {
        var options = Options();
        var registry = new ClusterRegistry(options);

        Assert.Null(registry.Put("c1", Json("""{"weight": 5, "priority": -3, "role": "master", "minSurvivors": 0, "minimumSurvivalRatio": 1}""")));
        Assert.Null(registry.PutMode("west", "masters-one-standby"));

        var again = new ClusterRegistry(options);
        Assert.Equal(new HealthCluster("c1", "west", ClusterRole.Master, 5, -3, null, 1), again.Settings("c1"));
        Assert.Equal(BackupMode.MastersOneStandby, again.Modes()["west"]);
    }

    [Fact]
    public void Put_FieldNull_GoesBackToConfiguration_OthersLeftOutStay()
    {
        var registry = new ClusterRegistry(Options());
        registry.Put("c1", Json("""{"weight": 5, "priority": 7}"""));

        registry.Put("c1", Json("""{"weight": null}"""));

        Assert.Equal((300, 7), (registry.Settings("c1").Weight, registry.Settings("c1").Priority));
    }

    [Fact]
    public void Put_UnknownCluster_IsCreatedAndListed()
    {
        var registry = new ClusterRegistry(Options());

        registry.Put("standby-east", Json("""{"role": "standby"}"""));

        Assert.Contains(registry.Settings([]), c => c is { Name: "standby-east", Role: ClusterRole.Standby });
    }

    [Theory]
    [InlineData("""{"weight": 1001}""", "weight", "weight = '1001': expected a whole number from 0 to 1000")]
    [InlineData("""{"weight": "heavy"}""", "weight", "weight = \"heavy\": expected a whole number")]
    [InlineData("""{"priority": 1.5}""", "priority", "expected a whole number")]
    [InlineData("""{"role": "boss"}""", "role", "expected master or standby")]
    [InlineData("""{"minSurvivors": -1}""", "minSurvivors", "0 in a PUT: use the ratio")]
    [InlineData("""{"minimumSurvivalRatio": 0}""", "minimumSurvivalRatio", "above 0 and at most 1")]
    [InlineData("""{"group": "Not A Name"}""", "group", "group = 'Not A Name'")]
    [InlineData("""{"colour": "red"}""", "colour", "'colour' is not a cluster setting")]
    public void Put_BadValue_NamesFieldAndReason_NothingChanges(string body, string field, string reason)
    {
        var registry = new ClusterRegistry(Options());
        var before = registry.Settings("c1");

        var error = registry.Put("c1", Json(body));

        Assert.NotNull(error);
        Assert.Equal(field, error.Value.Field);
        Assert.Contains(reason, error.Value.Error, StringComparison.Ordinal);
        Assert.Equal(before, registry.Settings("c1"));
        Assert.False(File.Exists(Path.Combine(_data.Path, "clusters.json")));
    }

    [Fact]
    public void PutMode_Unknown_IsRefused()
        => Assert.Contains("expected all-masters, masters-standbys or masters-one-standby", new ClusterRegistry(Options()).PutMode("west", "random"), StringComparison.Ordinal);
}
