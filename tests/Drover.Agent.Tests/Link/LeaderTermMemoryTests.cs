using Drover.Agent.Configuration;
using Drover.Agent.Link;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Link;

public sealed class LeaderTermMemoryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("drover-leader-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string FilePath => Path.Combine(_directory, LeaderTermMemory.FileName);

    [Theory]
    // kept (null: none), offered (null: no leader in the Welcome), verdict
    [InlineData(null, 0UL, "a", 1UL, "Accept")] // the first leadership the agent hears of
    [InlineData(null, 0UL, null, 0UL, "Accept")] // an older aggregator, nothing kept
    [InlineData("a", 5UL, null, 0UL, "Accept")] // an older aggregator: accepted as before
    [InlineData("a", 5UL, "", 9UL, "Accept")] // no store id names nothing to count in: as no leader
    [InlineData("a", 5UL, "a", 4UL, "Refuse")] // a deposed leader
    [InlineData("a", 5UL, "a", 1UL, "Refuse")]
    [InlineData("a", 5UL, "a", 5UL, "Accept")] // the same leadership again (a reconnect)
    [InlineData("a", 5UL, "a", 6UL, "Accept")] // a newer leader
    [InlineData("a", 5UL, "b", 1UL, "AdoptNewStore")] // a new store starts from 1: lower, and still adopted
    [InlineData("a", 5UL, "b", 9UL, "AdoptNewStore")]
    [InlineData("a", 5UL, "A", 9UL, "AdoptNewStore")] // store ids compare exactly
    public void Judge_KeptAndOffered_Verdict(string? keptStore, ulong keptTerm, string? offeredStore, ulong offeredTerm, string expected)
    {
        var kept = keptStore is null ? null : new LeaderTerm { StoreId = keptStore, Term = keptTerm };
        var offered = offeredStore is null ? null : new LeaderTerm { StoreId = offeredStore, Term = offeredTerm };

        Assert.Equal(expected, LeaderTermMemory.Judge(kept, offered).ToString());
    }

    [Theory]
    // kept term (0: none kept), the store kept when the command arrived, command term, deposed
    [InlineData(0UL, null, 3UL, false)] // none kept: nothing to fence with
    [InlineData(5UL, "a", 0UL, false)] // an aggregator older than terms
    [InlineData(5UL, "a", 4UL, true)]
    [InlineData(5UL, "a", 1UL, true)]
    [InlineData(5UL, "a", 5UL, false)]
    [InlineData(5UL, "a", 6UL, false)]
    [InlineData(5UL, "b", 7UL, true)] // queued by a store the agent has left since: its higher number says nothing
    [InlineData(5UL, "b", 5UL, true)]
    [InlineData(5UL, "b", 0UL, false)]
    public void IsDeposed_KeptStoreAndCommandTerm_Result(ulong keptTerm, string? arrivedInStore, ulong commandTerm, bool deposed)
    {
        var kept = keptTerm == 0 ? null : new LeaderTerm { StoreId = "a", Term = keptTerm };

        Assert.Equal(deposed, LeaderTermMemory.IsDeposed(kept, arrivedInStore, commandTerm));
    }

    [Fact]
    public void Offer_NewerTerm_IsKeptAndReadBackByARestartedAgent()
    {
        var memory = Create();
        memory.Offer(new LeaderTerm { StoreId = "store a", Term = 3 });

        Assert.Equal(LeaderVerdict.Accept, memory.Offer(new LeaderTerm { StoreId = "store a", Term = 7 }));

        Assert.Equal("store a 7\n", File.ReadAllText(FilePath));
        Assert.Equal(new LeaderTerm { StoreId = "store a", Term = 7 }, Create().Kept);
    }

    [Fact]
    public void Offer_LowerTermOfTheSameStore_IsRefusedAndKeepsTheKeptTerm()
    {
        var memory = Create();
        memory.Offer(new LeaderTerm { StoreId = "a", Term = 7 });

        Assert.Equal(LeaderVerdict.Refuse, memory.Offer(new LeaderTerm { StoreId = "a", Term = 6 }));

        Assert.Equal(new LeaderTerm { StoreId = "a", Term = 7 }, memory.Kept);
        Assert.Equal("a 7\n", File.ReadAllText(FilePath));
    }

    [Fact]
    public void Offer_AnotherStore_ReplacesTheKeptOneEvenAtALowerTerm()
    {
        var memory = Create();
        memory.Offer(new LeaderTerm { StoreId = "a", Term = 7 });

        Assert.Equal(LeaderVerdict.AdoptNewStore, memory.Offer(new LeaderTerm { StoreId = "b", Term = 1 }));

        Assert.Equal(new LeaderTerm { StoreId = "b", Term = 1 }, Create().Kept);
    }

    [Fact]
    public void Offer_NoLeader_AcceptedAndNothingWritten()
    {
        var memory = Create();

        Assert.Equal(LeaderVerdict.Accept, memory.Offer(null));

        Assert.Null(memory.Kept);
        Assert.False(File.Exists(FilePath));
    }

    [Fact]
    public void Offer_TheKeptTermChangedByTheCaller_DoesNotChangeWhatIsKept()
    {
        var memory = Create();
        var offered = new LeaderTerm { StoreId = "a", Term = 2 };
        memory.Offer(offered);

        offered.Term = 1;

        Assert.Equal(2UL, memory.Kept!.Term);
    }

    [Fact]
    public void Create_NoFile_NoneKeptWithoutWarning()
    {
        var logger = new CapturingLogger<LeaderTermMemory>();

        var memory = new LeaderTermMemory(new AgentOptions { StateDirectory = _directory }, logger);

        Assert.Null(memory.Kept);
        Assert.Empty(logger.Entries);
    }

    [Theory]
    [InlineData("")]
    [InlineData("store-a")]
    [InlineData(" 5")]
    [InlineData("store-a -5")]
    [InlineData("store-a 5x")]
    [InlineData("store-a 99999999999999999999999")]
    [InlineData("\0\0\0\0")]
    public void Create_CorruptFile_NoneKeptAndAWarning(string content)
    {
        File.WriteAllText(FilePath, content);
        var logger = new CapturingLogger<LeaderTermMemory>();

        var memory = new LeaderTermMemory(new AgentOptions { StateDirectory = _directory }, logger);

        Assert.Null(memory.Kept);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Warning, 2117), (entry.Level, entry.EventId));
    }

    [Fact]
    public void Offer_StateDirectoryNotWritable_KeptInMemoryWithAWarning()
    {
        // A file where the state directory should be: nothing can be written under it, by root either.
        var notADirectory = Path.Combine(_directory, "file");
        File.WriteAllText(notADirectory, "");
        var logger = new CapturingLogger<LeaderTermMemory>();
        var memory = new LeaderTermMemory(new AgentOptions { StateDirectory = notADirectory }, logger);

        Assert.Equal(LeaderVerdict.Accept, memory.Offer(new LeaderTerm { StoreId = "a", Term = 4 }));

        Assert.Equal(4UL, memory.Kept!.Term);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Warning, 2118), (entry.Level, entry.EventId));
    }

    private LeaderTermMemory Create() => new(new AgentOptions { StateDirectory = _directory }, NullLogger<LeaderTermMemory>.Instance);
}
