using System.Text.Json;
using Drover.Aggregator.Api;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;

namespace Drover.Aggregator.Tests.Api;

public class WorkloadStatusTests
{
    public static TheoryData<string> DefinitionTypes => new() { nameof(FunctionDefinition), nameof(ServiceDefinition) };

    /// <summary>A PUT drops the fields a GET adds: a definition field of the same name would be silently lost.</summary>
    [Theory]
    [MemberData(nameof(DefinitionTypes))]
    public void ReadOnlyFields_AreNoDefinitionField(string type)
    {
        var definition = type == nameof(FunctionDefinition) ? (object)new FunctionDefinition() : new ServiceDefinition();

        var fields = JsonSerializer.SerializeToElement(definition, WorkloadStatus.Json).EnumerateObject().Select(p => p.Name);

        Assert.DoesNotContain(fields, WorkloadStatus.ReadOnlyFields.Contains);
    }
}
