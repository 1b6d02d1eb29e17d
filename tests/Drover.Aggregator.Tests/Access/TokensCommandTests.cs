using System.Net;
using Drover.Aggregator.Access;
using Drover.Aggregator.Tests.Events;
using Drover.Aggregator.Tests.State;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests.Access;

/// <summary><c>drover-aggregator tokens</c> and the tokens file it writes, and the host's start without tokens.</summary>
[Trait("Category", "Attacks")]
public sealed class TokensCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string FilePath => Path.Combine(_dir.Path, "etc", "api-tokens.json");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Add_PrintsTokenOnce_FileIs0600AndHoldsOnlyItsHash_AndAHostAcceptsIt()
    {
        var (code, token, error) = Run("add", "--name", "ops", "--role", "admin", "--file", FilePath);

        Assert.Equal(0, code);
        Assert.StartsWith(ApiTokenFile.TokenPrefix, token, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(FilePath));
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(FilePath), StringComparison.Ordinal);
        var found = ApiTokenStore.Load(FilePath).Find(token);
        Assert.Equal(new ApiToken("ops", ApiRoles.Admin, ApiTokenFile.HashOf(token)), found);

        // A host started with the file takes the printed token.
        await using var aggregator = await TestAggregator.StartAsync(configure: o => o.ApiTokensFile = FilePath);
        using var client = aggregator.ClientWith(token);
        using var response = await client.GetAsync("/v1/nodes");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void Add_Twice_BothKept_SameNameRefused()
    {
        var (_, admin, _) = Run("add", "--name", "ops", "--role", "admin", "--file", FilePath);
        var (_, reader, _) = Run("add", "--name", "dashboard", "--role", "read", "--file", FilePath);
        var (again, _, error) = Run("add", "--name", "ops", "--role", "read", "--file", FilePath);

        var store = ApiTokenStore.Load(FilePath);
        Assert.Equal(ApiRoles.Admin, store.Find(admin)?.Role);
        Assert.Equal(ApiRoles.Read, store.Find(reader)?.Role);
        Assert.NotEqual(0, again);
        Assert.Contains("already", error, StringComparison.Ordinal);
        Assert.Equal(2, store.Count);
    }

    [Fact]
    public void Remove_TheTokenNoLongerAuthenticates()
    {
        var (_, token, _) = Run("add", "--name", "ops", "--role", "admin", "--file", FilePath);

        var (code, _, _) = Run("remove", "--name", "ops", "--file", FilePath);

        Assert.Equal(0, code);
        Assert.Null(ApiTokenStore.Load(FilePath).Find(token));
    }

    [Theory]
    [InlineData("add", "--name", "ops", "--role", "root")]
    [InlineData("add", "--name", "Bad Name", "--role", "read")]
    [InlineData("add", "--role", "read")]
    [InlineData("grant", "--name", "ops")]
    [InlineData("add", "--name")]
    public void BadCommandLine_ExitsWith64AndWritesNothing(params string[] args)
    {
        var (code, printed, _) = Run([.. args, "--file", FilePath]);

        Assert.Equal(TokensCommand.Usage, code);
        Assert.Equal("", printed);
        Assert.False(File.Exists(FilePath));
    }

    [Fact]
    public void Read_FileOthersMayWrite_RefusedNamingTheKey()
    {
        Run("add", "--name", "ops", "--role", "admin", "--file", FilePath);
        File.SetUnixFileMode(FilePath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite);

        var refused = Assert.Throws<ConfigurationException>(() => ApiTokenFile.Read(FilePath));

        Assert.StartsWith($"apiTokensFile = '{FilePath}': ", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tokens": [{"name": "ops", "role": "root", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}]}""", "tokens[0].role")]
    [InlineData("""{"tokens": [{"name": "ops", "role": "read", "sha256": "abc"}]}""", "tokens[0].sha256")]
    [InlineData("""{"tokens": [{"name": "a", "role": "read", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}, {"name": "a", "role": "read", "sha256": "1111111111111111111111111111111111111111111111111111111111111111"}]}""", "tokens[1].name")]
    [InlineData("""{"tokens": [{"name": "a", "role": "read", "sha256": "00", "token": "x"}]}""", "not a valid tokens file")]
    [InlineData("not json", "not a valid tokens file")]
    public void Read_InvalidFile_RefusedNamingWhat(string text, string expected)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        File.WriteAllText(FilePath, text);
        File.SetUnixFileMode(FilePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var refused = Assert.Throws<ConfigurationException>(() => ApiTokenFile.Read(FilePath));

        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_NoTokensFile_EveryManagementRequest401_AndAWarningAtStart()
    {
        var log = new RecordingSink(output);
        await using var aggregator = await TestAggregator.StartAsync(configure: o => o.ApiTokensFile = Path.Combine(_dir.Path, "missing.json"), logger: log.CreateLogger());

        using var response = await aggregator.Http.GetAsync("/v1/nodes");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Single(log.Named("ApiNoTokens"));
        Assert.Contains(log.Named("ApiUnauthenticated"), e => e.RenderMessage().Contains("no API tokens are configured", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Host_InsecureApi_ServedWithoutToken_AndAWarningAtStart()
    {
        var log = new RecordingSink(output);
        await using var aggregator = await TestAggregator.StartAsync(configure: o => o.InsecureApi = true, logger: log.CreateLogger());
        using var anonymous = aggregator.ClientWith(null);

        using var response = await anonymous.PutAsync("/v1/nodes/n1", new StringContent("{\"weight\": 1}", System.Text.Encoding.UTF8, "application/json"));

        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Single(log.Named("ApiInsecure"));
    }

    [Theory]
    [InlineData("read", "GET", true)]
    [InlineData("read", "HEAD", true)]
    [InlineData("read", "PUT", false)]
    [InlineData("read", "POST", false)]
    [InlineData("read", "DELETE", false)]
    [InlineData("read", "PATCH", false)]
    [InlineData("admin", "GET", true)]
    [InlineData("admin", "DELETE", true)]
    [InlineData("admin", "PATCH", true)]
    [InlineData("root", "GET", false)]
    [InlineData("", "GET", false)]
    public void Allows_RoleAndMethod(string role, string method, bool allowed)
        => Assert.Equal(allowed, ApiRoles.Allows(role, method));

    private (int Code, string Output, string Error) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = TokensCommand.Run(args, stdout, stderr);
        output.WriteLine($"tokens {string.Join(' ', args)} -> {code}: {stderr}");
        return (code, stdout.ToString().Trim(), stderr.ToString());
    }
}
