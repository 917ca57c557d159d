using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class HistoryTests
{
    private static async Task<ChatHarness> RoomWithMessagesAsync(int count, Action<ChitChatOptions>? configure = null)
    {
        var h = await ChatHarness.CreateAsync(configure);
        var alice = await h.UserAsync("alice");
        for (var i = 1; i <= count; i++)
        {
            await h.SendAsync(alice, "global", $"m{i}", null).Timed();
        }

        return h;
    }

    private static long[] Seqs(IEnumerable<ChatMessage> messages) => messages.Select(m => m.Seq).ToArray();

    private static long[] Range(long from, long to) => Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i).ToArray();

    [Fact]
    public async Task The_default_page_is_the_latest_messages_ascending()
    {
        await using var h = await RoomWithMessagesAsync(60);

        var page = await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed();

        Assert.Equal(Range(11, 60), Seqs(page));
        Assert.Equal("m60", page[^1].Text);
    }

    [Fact]
    public async Task The_page_size_defaults_and_clamps_from_the_options()
    {
        await using var h = await RoomWithMessagesAsync(30, o => (o.DefaultHistoryPageSize, o.MaxHistoryPageSize) = (10, 20));

        Assert.Equal(Range(21, 30), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed()));
        Assert.Equal(Range(11, 30), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(Limit: 1000)).Timed()));
        Assert.Equal(Range(11, 30), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(Limit: int.MaxValue)).Timed()));
        Assert.Equal(Range(28, 30), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(Limit: 3)).Timed()));
    }

    [Fact]
    public async Task Before_and_after_page_backwards_and_forwards()
    {
        await using var h = await RoomWithMessagesAsync(30);

        Assert.Equal(Range(10, 14), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(BeforeSeq: 15, Limit: 5)).Timed()));
        Assert.Equal(Range(1, 2), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(BeforeSeq: 3, Limit: 5)).Timed()));
        Assert.Empty(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(BeforeSeq: 1)).Timed());
        Assert.Equal(Range(26, 30), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(AfterSeq: 25)).Timed()));
        Assert.Equal(Range(6, 8), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(AfterSeq: 5, Limit: 3)).Timed()));
        Assert.Equal(Range(1, 30), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(AfterSeq: 0)).Timed()));
        Assert.Empty(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(AfterSeq: 30)).Timed());
        Assert.Equal(Range(11, 13), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(BeforeSeq: 20, AfterSeq: 10, Limit: 3)).Timed()));
        Assert.Equal(Range(11, 19), Seqs(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(BeforeSeq: 20, AfterSeq: 10)).Timed()));
    }

    [Fact]
    public async Task An_empty_room_has_an_empty_history()
    {
        await using var h = await ChatHarness.CreateAsync();

        Assert.Empty(await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed());
    }

    [Theory]
    [InlineData(0, null, null, "limit")]
    [InlineData(-1, null, null, "limit")]
    [InlineData(int.MinValue, null, null, "limit")]
    [InlineData(null, 0L, null, "before")]
    [InlineData(null, -5L, null, "before")]
    [InlineData(null, null, -1L, "after")]
    public async Task Invalid_paging_is_validation_failed(int? limit, long? before, long? after, string field)
    {
        await using var h = await RoomWithMessagesAsync(3);

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery(before, after, limit)));

        Assert.Equal([field], ex.Errors!.Keys);
    }

    [Fact]
    public async Task Catch_up_returns_what_was_missed_up_to_the_cap()
    {
        await using var h = await RoomWithMessagesAsync(12, o => o.CatchUpLimit = 5);

        var fromStart = await h.History.CatchUpAsync(RoomName.Parse("GLOBAL"), null).Timed();
        var fromZero = await h.History.CatchUpAsync(RoomName.Parse("global"), 0).Timed();
        var tail = await h.History.CatchUpAsync(RoomName.Parse("global"), 10).Timed();
        var exactlyCap = await h.History.CatchUpAsync(RoomName.Parse("global"), 7).Timed();

        Assert.Equal("global", fromStart.Room);
        Assert.Equal(12, fromStart.LastSeq);
        Assert.Equal(Range(1, 5), Seqs(fromStart.Missed));
        Assert.True(fromStart.HasMore);
        Assert.Equal(Range(1, 5), Seqs(fromZero.Missed));
        Assert.True(fromZero.HasMore);
        Assert.Equal(Range(11, 12), Seqs(tail.Missed));
        Assert.False(tail.HasMore);
        Assert.Equal(Range(8, 12), Seqs(exactlyCap.Missed));
        Assert.False(exactlyCap.HasMore);
    }

    [Fact]
    public async Task Catch_up_up_to_a_boundary_stops_there_and_reports_it_as_last_seq()
    {
        await using var h = await RoomWithMessagesAsync(12, o => o.CatchUpLimit = 5);

        var within = await h.History.CatchUpAsync(RoomName.Parse("global"), 3, upToSeq: 6).Timed();
        var capped = await h.History.CatchUpAsync(RoomName.Parse("global"), 0, upToSeq: 9).Timed();
        var atBoundary = await h.History.CatchUpAsync(RoomName.Parse("global"), 9, upToSeq: 9).Timed();

        Assert.Equal(6, within.LastSeq);
        Assert.Equal(Range(4, 6), Seqs(within.Missed));
        Assert.False(within.HasMore); // 7..12 exist but are beyond the boundary (delivered live by the caller)
        Assert.Equal(9, capped.LastSeq);
        Assert.Equal(Range(1, 5), Seqs(capped.Missed));
        Assert.True(capped.HasMore);
        Assert.Empty(atBoundary.Missed);
        Assert.False(atBoundary.HasMore);

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.History.CatchUpAsync(RoomName.Parse("global"), 0, upToSeq: -1));
        Assert.Equal(["upToSeq"], ex.Errors!.Keys);
    }

    [Theory]
    [InlineData(12L)]
    [InlineData(13L)]
    [InlineData(long.MaxValue)]
    public async Task Catch_up_from_the_end_or_beyond_is_empty(long afterSeq)
    {
        await using var h = await RoomWithMessagesAsync(12);

        var result = await h.History.CatchUpAsync(RoomName.Parse("global"), afterSeq).Timed();

        Assert.Empty(result.Missed);
        Assert.False(result.HasMore);
        Assert.Equal(12, result.LastSeq);
    }

    [Fact]
    public async Task Catch_up_of_an_empty_room_is_empty_with_last_seq_zero()
    {
        await using var h = await ChatHarness.CreateAsync();

        var result = await h.History.CatchUpAsync(RoomName.Parse("global"), null).Timed();

        Assert.Equal("global", result.Room);
        Assert.Equal(0, result.LastSeq);
        Assert.Empty(result.Missed);
        Assert.False(result.HasMore);
    }

    [Fact]
    public async Task Catch_up_from_a_negative_seq_is_validation_failed()
    {
        await using var h = await ChatHarness.CreateAsync();

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.History.CatchUpAsync(RoomName.Parse("global"), -1));

        Assert.Equal(["afterSeq"], ex.Errors!.Keys);
    }
}
