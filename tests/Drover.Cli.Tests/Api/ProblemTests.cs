using Drover.Cli.Api;

namespace Drover.Cli.Tests.Api;

public sealed class ProblemTests
{
    [Theory]
    [InlineData(400, "Bad Request", """{"title":"Invalid function definition","status":400,"detail":"slo = 0: expected 1-10000","field":"slo"}""", "400 Bad Request, Invalid function definition: slo = 0: expected 1-10000 [field: slo]")]
    [InlineData(400, "Bad Request", """{"title":"Invalid event stream request","detail":"function: 'X' is not a name","parameter":"function"}""", "400 Bad Request, Invalid event stream request: function: 'X' is not a name [parameter: function]")]
    [InlineData(401, "Unauthorized", """{"title":"Unauthorized","detail":"no token."}""", "401 Unauthorized: no token.")]
    [InlineData(503, "Service Unavailable", "", "503 Service Unavailable")]
    [InlineData(502, "Bad Gateway", "<html>\nproxy error\n</html>", "502 Bad Gateway: <html> proxy error </html>")]
    [InlineData(400, "Bad Request", """{"error":"something"}""", """400 Bad Request: {"error":"something"}""")]
    public void Describe_Answer_OneLineWithWhatTheProblemSays(int status, string reason, string body, string expected)
        => Assert.Equal(expected, Problem.Describe(status, reason, body));

    [Fact]
    public void Describe_LongBody_IsCut()
        => Assert.EndsWith("...", Problem.Describe(500, "Internal Server Error", new string('x', 5000)), StringComparison.Ordinal);
}
