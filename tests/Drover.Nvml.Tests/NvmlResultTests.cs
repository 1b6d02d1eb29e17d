namespace Drover.Nvml.Tests;

public sealed class NvmlResultTests
{
    private static readonly NvmlError NotSupported = new(NvmlReturn.NotSupported, "Not Supported", "nvmlDeviceGetPowerUsage");

    [Fact]
    public void Ok_WithValue_IsSuccessAndHoldsValue()
    {
        var result = NvmlResult<uint>.Ok(42);

        Assert.True(result.IsSuccess);
        Assert.Equal(42u, result.Value);
        Assert.Null(result.Error);
        Assert.True(result.TryGetValue(out var value));
        Assert.Equal(42u, value);
    }

    [Fact]
    public void Fail_WithError_IsNotSuccessAndCarriesError()
    {
        var result = NvmlResult<uint>.Fail(NotSupported);

        Assert.False(result.IsSuccess);
        Assert.Same(NotSupported, result.Error);
        Assert.False(result.TryGetValue(out _));
    }

    [Fact]
    public void Value_WhenFailed_ThrowsNamingTheCall()
    {
        var result = NvmlResult<uint>.Fail(NotSupported);

        var exception = Assert.Throws<InvalidOperationException>(() => result.Value);
        Assert.Contains("nvmlDeviceGetPowerUsage", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Not Supported", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fail_WithNullError_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => NvmlResult<uint>.Fail(null!));
    }

    [Fact]
    public void Create_WithNullOptions_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => NvmlFactory.Create(null!));
    }
}
