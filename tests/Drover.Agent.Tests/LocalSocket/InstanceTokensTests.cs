using Drover.Agent.LocalSocket;

namespace Drover.Agent.Tests.LocalSocket;

public class InstanceTokensTests
{
    [Fact]
    public void Issue_NewInstance_Returns64LowercaseHexCharacters()
    {
        var token = new InstanceTokens().Issue("fn-a-0");

        Assert.Matches("^[0-9a-f]{64}$", token);
    }

    [Fact]
    public void Issue_TwoInstances_DifferentTokens()
    {
        var tokens = new InstanceTokens();

        Assert.NotEqual(tokens.Issue("a"), tokens.Issue("b"));
    }

    [Fact]
    public void Authenticate_IssuedToken_True()
    {
        var tokens = new InstanceTokens();
        var token = tokens.Issue("a");

        Assert.True(tokens.Authenticate("a", token));
    }

    [Fact]
    public void Authenticate_WrongOrForeignOrTruncatedToken_False()
    {
        var tokens = new InstanceTokens();
        var a = tokens.Issue("a");
        var b = tokens.Issue("b");

        Assert.False(tokens.Authenticate("a", b));
        Assert.False(tokens.Authenticate("a", a[..63]));
        Assert.False(tokens.Authenticate("a", a.ToUpperInvariant()));
        Assert.False(tokens.Authenticate("a", ""));
        Assert.False(tokens.Authenticate("a", a[..63] + "é"));
        Assert.False(tokens.Authenticate("unknown", a));
    }

    [Fact]
    public void Issue_Again_OldTokenNoLongerAccepted()
    {
        var tokens = new InstanceTokens();
        var old = tokens.Issue("a");

        var fresh = tokens.Issue("a");

        Assert.False(tokens.Authenticate("a", old));
        Assert.True(tokens.Authenticate("a", fresh));
    }

    [Fact]
    public void Revoke_IssuedToken_NoLongerAccepted()
    {
        var tokens = new InstanceTokens();
        var token = tokens.Issue("a");

        Assert.True(tokens.Revoke("a"));

        Assert.False(tokens.Authenticate("a", token));
        Assert.False(tokens.Revoke("a"));
    }

    [Fact]
    public void Restore_KeptToken_AcceptedAgain()
    {
        var tokens = new InstanceTokens();
        var kept = new InstanceTokens().Issue("a");

        Assert.Equal(kept, tokens.Restore("a", kept));

        Assert.True(tokens.Authenticate("a", kept));
    }
}
