using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Scaling;

public class GpuRequestTests
{
    private static ScalingGpu Gpu(string? profile) => new("g", true, 0, 0, 0, MigProfile: profile);

    public static TheoryData<string, string?, bool> FitsCases => new()
    {
        // request, the GPU's MIG profile (null: a whole GPU; "": a MIG instance of unknown profile) => fits
        { "any", null, true },
        { "any", "1g.10gb", true },
        { "any", "3g.40gb", true },
        { "any", "", true },
        { "whole", null, true },
        { "whole", "1g.10gb", false },
        { "whole", "3g.40gb", false },
        { "whole", "", false },
        { "mig", null, false },
        { "mig", "1g.10gb", true },
        { "mig", "3g.40gb", true },
        { "mig", "", true },
        { "mig:1g.10gb", null, false },
        { "mig:1g.10gb", "1g.10gb", true },
        { "mig:1g.10gb", "3g.40gb", false },
        { "mig:1g.10gb", "", false },
        { "mig:1g.10gb", "1g.10gb+me", false },
        { "mig:1g.10gb", "1G.10GB", false },
    };

    [Theory]
    [MemberData(nameof(FitsCases))]
    public void Fits_Table(string request, string? profile, bool fits)
    {
        Assert.True(GpuRequest.TryParse(request, out var parsed));

        Assert.Equal(fits, parsed.Fits(Gpu(profile)));
    }

    [Fact]
    public void Default_IsAnyAndFitsEveryGpu()
    {
        Assert.Equal(GpuRequestKind.Any, default(GpuRequest).Kind);
        Assert.Equal("any", default(GpuRequest).ToString());
        Assert.True(default(GpuRequest).Fits(Gpu(null)) && default(GpuRequest).Fits(Gpu("1g.10gb")));
    }

    public static TheoryData<string, GpuRequestKind, string?> GoodCases => new()
    {
        { "any", GpuRequestKind.Any, null },
        { "whole", GpuRequestKind.Whole, null },
        { "mig", GpuRequestKind.Mig, null },
        { "mig:1g.10gb", GpuRequestKind.Mig, "1g.10gb" },
        { "mig:1g.10gb+me", GpuRequestKind.Mig, "1g.10gb+me" },
        { "mig:A_b-9.+", GpuRequestKind.Mig, "A_b-9.+" },
        { "mig:" + new string('p', 32), GpuRequestKind.Mig, new string('p', 32) },
    };

    [Theory]
    [MemberData(nameof(GoodCases))]
    public void TryParse_Good_KindProfileAndWrittenBackTheSame(string value, GpuRequestKind kind, string? profile)
    {
        Assert.True(GpuRequest.TryParse(value, out var request));

        Assert.Equal(new GpuRequest(kind, profile), request);
        Assert.Equal(value, request.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Any")]
    [InlineData("WHOLE")]
    [InlineData(" any")]
    [InlineData("any ")]
    [InlineData("MIG")]
    [InlineData("mig:")]
    [InlineData("mig:1g 10gb")]
    [InlineData("mig:1g/10gb")]
    [InlineData("mig:1g.10gb:")]
    [InlineData("mig:1g.10gbé")]
    [InlineData("mig:ppppppppppppppppppppppppppppppppp")]
    [InlineData("whole:1g.10gb")]
    [InlineData("gpu")]
    public void TryParse_Bad_FalseAndAny(string? value)
    {
        Assert.False(GpuRequest.TryParse(value, out var request));

        Assert.Equal(default, request);
    }
}
