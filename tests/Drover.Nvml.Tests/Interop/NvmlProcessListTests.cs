using Drover.Nvml.Interop;

namespace Drover.Nvml.Tests.Interop;

/// <summary>Which process call and record size each driver generation's exports lead to.</summary>
public sealed class NvmlProcessListTests
{
    private const string V3 = NvmlProcessList.ComputeProcessesV3Symbol;
    private const string V2 = NvmlProcessList.ComputeProcessesV2Symbol;
    private const string ConfCompute = NvmlProcessList.ConfComputeMemSizeInfoSymbol;
    private const string DetailList = NvmlProcessList.RunningProcessDetailListSymbol;

    public static TheoryData<string, string[], string?, int> Generations => new()
    {
        // driver, its exports, the call chosen (null: none), its record size
        { "R510/R515 without _v3", [V2], V2, 24 },
        { "R510/R515 with _v3", [V3, V2], V3, 24 },
        { "535.43-535.86", [V3, V2, ConfCompute], V3, 32 },
        { "535.98", [V2, ConfCompute], V2, 24 },
        { "535.98 with the detail list", [V2, ConfCompute, DetailList], V2, 24 },
        { "535.104+, 545-560", [V3, V2, ConfCompute, DetailList], V3, 24 },
        { "detail list without conf compute", [V3, V2, DetailList], V3, 24 },
        { "neither _v3 nor _v2", [ConfCompute, DetailList], null, 0 },
    };

    [Theory]
    [MemberData(nameof(Generations))]
    public void Choose_DriverExports_PicksCallAndRecordSize(string driver, string[] exports, string? symbol, int recordBytes)
    {
        var addresses = exports.Select((name, i) => (name, address: (nint)(0x1000 + i))).ToDictionary(e => e.name, e => e.address);

        var list = NvmlProcessList.Choose((string name, out nint address) => addresses.TryGetValue(name, out address));

        Assert.True(symbol == list?.Symbol, driver);
        if (list is not null)
        {
            Assert.Equal(recordBytes, list.RecordBytes);
            Assert.Equal(addresses[list.Symbol], list.Function);
        }
    }
}
