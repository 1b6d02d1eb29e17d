using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Drover.Gateway.Tests;

public sealed class GatewayServiceCollectionExtensionsTests
{
    [Fact]
    public void AddDroverGateway_Instance_IsTheSettingsEveryReaderSees()
    {
        var options = new GatewayOptions { MaxRetryBodyBytes = 1, RetryBodyMemoryBytes = 2, RetryBackoffMs = 3, EjectionMs = 4 };

        using var provider = new ServiceCollection().AddDroverGateway(options).BuildServiceProvider();

        Assert.Same(options, provider.GetRequiredService<IOptions<GatewayOptions>>().Value);
        Assert.Same(options, provider.GetRequiredService<IOptionsMonitor<GatewayOptions>>().CurrentValue);
    }

    [Fact]
    public void AddDroverGateway_InvalidInstance_RefusedNamingTheKey()
    {
        using var provider = new ServiceCollection().AddDroverGateway(new GatewayOptions { EjectionMs = -1 }).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GatewayOptions>>().Value);
        Assert.Contains("gateway:ejectionMs = '-1'", error.Message, StringComparison.Ordinal);
    }
}
