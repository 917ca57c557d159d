using ChitChat.Transport;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class SendTests
{
    [Fact]
    public async Task A_message_is_stored_with_the_next_seq_and_the_author_from_the_identity_then_published()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("Alice");

        var first = await h.SendAsync(alice, "GLOBAL", "hello", "c-1").Timed();
        var second = await h.SendAsync(alice, "global", "again", null).Timed();

        Assert.True(first.Created);
        Assert.Equal(1, first.Message.Seq);
        Assert.Equal(2, second.Message.Seq);
        Assert.Equal("global", first.Message.Room);
        Assert.Equal(alice.UserId, first.Message.AuthorId);
        Assert.Equal("Alice", first.Message.AuthorName);
        Assert.Equal("hello", first.Message.Text);
        Assert.Equal("c-1", first.Message.ClientMessageId);
        Assert.Null(second.Message.ClientMessageId);
        Assert.Equal(7, first.Message.Id.Version);
        Assert.Equal([first.Message, second.Message], await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed());
        Assert.Equal([first.Message, second.Message], h.Transport.PublishedOf<MessagePosted>().Select(e => e.Message));
    }

    [Theory]
    [InlineData("line one\nline two")]
    [InlineData("col\tumn")]
    [InlineData("crlf\r\nline")]
    [InlineData("  leading and trailing spaces are kept  ")]
    [InlineData("emoji \U0001F600 and ünïcödé and 中文")]
    [InlineData("<script>alert(1)</script> stays text")]
    public async Task Text_is_stored_byte_exact(string text)
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        var result = await h.SendAsync(alice, "global", text, null).Timed();

        Assert.Equal(text, result.Message.Text);
        Assert.Equal(text, (await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed()).Single().Text);
    }

    public static TheoryData<string?, string> InvalidTexts => new()
    {
        { null, ChatErrorCodes.ValidationFailed },
        { "", ChatErrorCodes.ValidationFailed },
        { "   ", ChatErrorCodes.ValidationFailed },
        { "\n\t", ChatErrorCodes.ValidationFailed },
        { "nul\u0000byte", ChatErrorCodes.ValidationFailed },
        { "bell\u0007", ChatErrorCodes.ValidationFailed },
        { "\u001b[31mred", ChatErrorCodes.ValidationFailed },
        { "del\u007f", ChatErrorCodes.ValidationFailed },
        { "c1\u0085", ChatErrorCodes.ValidationFailed },
        { "hi \uD800", ChatErrorCodes.ValidationFailed },
        { "\uD800 hi", ChatErrorCodes.ValidationFailed },
        { "lo \uDC00", ChatErrorCodes.ValidationFailed },
        { "x\uDE00\uD83D", ChatErrorCodes.ValidationFailed },
        { new string('x', 11), ChatErrorCodes.PayloadTooLarge },
    };

    [Theory]
    [MemberData(nameof(InvalidTexts))]
    public async Task Invalid_text_is_a_typed_error_and_nothing_is_stored_or_published(string? text, string code)
    {
        await using var h = await ChatHarness.CreateAsync(o => o.MaxMessageLength = 10);
        var alice = await h.UserAsync("alice");

        var ex = await Wait.ChatErrorAsync(code, () => h.SendAsync(alice, "global", text, "c-1"));

        Assert.Equal(["text"], ex.Errors!.Keys);
        Assert.Equal(0, await h.LastSeqAsync());
        Assert.Null(await h.Store.Messages.FindByClientMessageIdAsync("global", "c-1").Timed());
        Assert.Empty(h.Transport.Published);
    }

    [Fact]
    public async Task Text_of_exactly_the_maximum_length_is_accepted()
    {
        await using var h = await ChatHarness.CreateAsync(o => o.MaxMessageLength = 10);
        var alice = await h.UserAsync("alice");

        var result = await h.SendAsync(alice, "global", "0123456789", null).Timed();

        Assert.True(result.Created);
    }

    [Fact]
    public async Task A_retry_with_the_same_client_message_id_returns_the_original_and_publishes_once()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        var first = await h.SendAsync(alice, "global", "hello", "c-42").Timed();
        var retry = await h.SendAsync(alice, "global", "hello", "c-42").Timed();
        var retryOtherText = await h.SendAsync(alice, "Global", "hello (edited?)", "c-42").Timed();

        Assert.True(first.Created);
        Assert.False(retry.Created);
        Assert.False(retryOtherText.Created);
        Assert.Equal(first.Message, retry.Message);
        Assert.Equal(first.Message, retryOtherText.Message);
        Assert.Equal(1, await h.LastSeqAsync());
        Assert.Single(h.Transport.PublishedOf<MessagePosted>());
    }

    [Fact]
    public async Task The_same_client_message_id_in_another_room_is_a_new_message()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        await h.CreateRoomAsync("other", alice).Timed();

        var a = await h.SendAsync(alice, "global", "hello", "c-1").Timed();
        var b = await h.SendAsync(alice, "other", "hello", "c-1").Timed();

        Assert.True(b.Created);
        Assert.NotEqual(a.Message.Id, b.Message.Id);
        Assert.Equal(1, b.Message.Seq);
    }

    [Fact]
    public async Task A_client_message_id_used_by_another_author_is_rejected_not_silently_swallowed()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        var original = await h.SendAsync(alice, "global", "from alice", "c-1").Timed();

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.SendAsync(bob, "global", "from bob", "c-1"));

        Assert.Equal(["clientMessageId"], ex.Errors!.Keys);
        Assert.Equal([original.Message], await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed());
        Assert.Single(h.Transport.PublishedOf<MessagePosted>()); // each send also made its author a member of global (MembershipChanged)
    }

    public static TheoryData<string> InvalidClientMessageIds => new()
    {
        "",
        " ",
        "has space",
        "tab\t",
        "naïve",
        "emoji\U0001F600",
        "nul\u0000",
        new string('k', 65),
    };

    [Theory]
    [MemberData(nameof(InvalidClientMessageIds))]
    public async Task An_invalid_client_message_id_is_validation_failed_and_stores_nothing(string clientMessageId)
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.SendAsync(alice, "global", "hello", clientMessageId));

        Assert.Equal(["clientMessageId"], ex.Errors!.Keys);
        Assert.Equal(0, await h.LastSeqAsync());
        Assert.Empty(h.Transport.Published);
    }

    [Fact]
    public async Task A_client_message_id_of_the_maximum_length_is_accepted()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var key = "k-" + new string('9', 62);

        var result = await h.SendAsync(alice, "global", "hello", key).Timed();

        Assert.Equal(key, result.Message.ClientMessageId);
    }

    [Fact]
    public async Task Sending_to_an_unknown_or_invalid_room_stores_nothing()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.SendAsync(alice, "nowhere", "hello", null));
        var invalid = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.SendAsync(alice, "no where", "hello", null));

        Assert.Equal(["room"], invalid.Errors!.Keys);
        Assert.Equal(0, await h.Store.Messages.GetLastSeqAsync("nowhere").Timed());
        Assert.Equal(0, await h.LastSeqAsync());
        Assert.Empty(h.Transport.Published);
    }

    [Fact]
    public async Task Sending_without_an_identity_is_unauthorized()
    {
        await using var h = await ChatHarness.CreateAsync();

        await Wait.ChatErrorAsync(ChatErrorCodes.Unauthorized, () => h.SendAsync(default, "global", "hello", null));
        await Wait.ChatErrorAsync(ChatErrorCodes.Unauthorized, () => h.SendAsync(new ChatIdentity(Guid.NewGuid(), ""), "global", "hello", null));

        Assert.Equal(0, await h.LastSeqAsync());
    }

    [Fact]
    public async Task A_transport_failure_does_not_fail_the_send_and_the_message_is_persisted()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        h.Transport.Fail = true;

        var result = await h.SendAsync(alice, "global", "hello", "c-1").Timed();

        Assert.True(result.Created);
        Assert.Equal([result.Message], await h.History.GetHistoryAsync(RoomName.Parse("global"), new HistoryQuery()).Timed());
        h.Transport.Fail = false;
        var next = await h.SendAsync(alice, "global", "next", null).Timed();
        Assert.Equal(2, next.Message.Seq);
        Assert.Equal([next.Message], h.Transport.PublishedOf<MessagePosted>().Select(e => e.Message));
    }

    [Fact]
    public async Task Concurrent_sends_get_gap_free_unique_seqs()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => h.SendAsync(alice, "global", $"m{i}", $"c-{i}")))).Timed();

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), results.Select(r => r.Message.Seq).Order());
        Assert.Equal(100, h.Transport.PublishedOf<MessagePosted>().Count);
    }
}
