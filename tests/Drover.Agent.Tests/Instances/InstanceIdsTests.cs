using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

public class InstanceIdsTests
{
    [Theory]
    [InlineData("counter-1a2b")]
    [InlineData("A.b_c-9")]
    [InlineData("x")]
    public void Validate_PlainName_IsAccepted(string id) => Assert.Null(InstanceIds.Validate(id));

    [Theory]
    [InlineData("", "empty")]
    [InlineData(null, "empty")]
    [InlineData(".", "'..'")]
    [InlineData("..", "'..'")]
    [InlineData("../etc", "'..'")]
    [InlineData("a/../b", "'..'")]
    [InlineData("a/b", "no path separators")]
    [InlineData("a\\b", "no path separators")]
    [InlineData("a b", "no path separators")]
    [InlineData("a\0b", "no path separators")]
    public void Validate_PathLike_IsRefusedWithAReason(string? id, string reason)
        => Assert.Contains(reason, InstanceIds.Validate(id), StringComparison.Ordinal);

    [Fact]
    public void Validate_TooLong_SaysTheBound()
        => Assert.Contains("at most 64", InstanceIds.Validate(new string('a', 65)), StringComparison.Ordinal);
}
