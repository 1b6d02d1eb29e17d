namespace Drover.Nvml.Tests.Fakes;

/// <summary>
/// Every test that loads the stand-in library. They run one at a time: the scenario variable is process-wide
/// (read by the native library at nvmlInit_v2), and so is NVML's init count.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FakeNvmlCollection : ICollectionFixture<FakeNvmlFixture>
{
    public const string Name = "fake-nvml";
}
