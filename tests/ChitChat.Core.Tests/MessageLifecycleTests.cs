using ChitChat.Contracts;
using ChitChat.Membership;
using ChitChat.Messaging;
using ChitChat.ReadState;
using ChitChat.Search;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ChitChat.Core.Tests;

/// <summary>The rules of protocol version 2's message lifecycle in Core's services, on the in-memory store.</summary>
public sealed class MessageLifecycleTests
{
    private static RoomName R(string name) => RoomName.Parse(name);

    private static MessageOperations Ops(ChatHarness h) => h.Services.GetRequiredService<MessageOperations>();

    private static async Task<(ChatHarness H, ChatIdentity Alice, ChatIdentity Bob)> RoomAsync(Action<ChitChatOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var h = await ChatHarness.CreateAsync(configure, services);
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        await h.Rooms.CreateAsync(R("lounge"), alice).Timed();
        await h.Services.GetRequiredService<MembershipService>().JoinAsync(bob, R("lounge")).Timed();
        return (h, alice, bob);
    }

    [Fact]
    public async Task An_edit_is_allowed_to_the_author_within_the_window_only()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var (h, alice, bob) = await RoomAsync(o => o.EditWindow = TimeSpan.FromHours(1), s => s.AddSingleton<TimeProvider>(time));
        await using var _h = h;
        var sent = (await h.SendAsync(alice, "lounge", "v1", null)).Message;

        time.Advance(TimeSpan.FromMinutes(59));
        var edited = await Ops(h).EditAsync(alice, R("lounge"), sent.Id, "v2").Timed();
        Assert.Equal(("v2", time.GetUtcNow()), (edited.Text, edited.EditedAt!.Value));
        var update = Assert.Single(h.Transport.PublishedOf<MessageUpdated>());
        Assert.Equal((sent.Seq + 1, MessageChange.Edited), (update.Seq, update.Change));

        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => Ops(h).EditAsync(bob, R("lounge"), sent.Id, "hijack"));

        // The same text changes nothing and takes no seq.
        var lastSeq = await h.LastSeqAsync("lounge");
        await Ops(h).EditAsync(alice, R("lounge"), sent.Id, "v2").Timed();
        Assert.Equal(lastSeq, await h.LastSeqAsync("lounge"));
        Assert.Single(h.Transport.PublishedOf<MessageUpdated>());

        time.Advance(TimeSpan.FromMinutes(2));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => Ops(h).EditAsync(alice, R("lounge"), sent.Id, "too late"));
        Assert.Equal("v2", (await h.Store.Messages.FindAsync("lounge", sent.Id).Timed())!.Text);
    }

    [Fact]
    public async Task Ten_thousand_reactions_on_one_message_stop_at_the_cap_with_validation_failed_and_leave_the_store_unchanged()
    {
        var (h, alice, _) = await RoomAsync(o => o.MaxReactionsPerMessage = 20);
        await using var _h = h;
        var sent = (await h.SendAsync(alice, "lounge", "popular", null)).Message;
        var ops = Ops(h);
        for (var i = 0; i < 20; i++)
        {
            await ops.ReactAsync(alice, R("lounge"), sent.Id, $"e{i}").Timed();
        }

        var lastSeq = await h.LastSeqAsync("lounge");
        var before = await h.Store.Messages.FindAsync("lounge", sent.Id).Timed();
        var refused = 0;
        for (var i = 20; i < 10_000; i++)
        {
            var ex = await Assert.ThrowsAsync<ChatException>(() => ops.ReactAsync(alice, R("lounge"), sent.Id, $"e{i}"));
            Assert.Equal(ChatErrorCodes.ValidationFailed, ex.Code);
            refused++;
        }

        Assert.Equal(9_980, refused);
        Assert.Equal(lastSeq, await h.LastSeqAsync("lounge"));
        Assert.Equal(before, await h.Store.Messages.FindAsync("lounge", sent.Id).Timed());

        // Another user may still add to an existing emoji.
        var bob = new ChatIdentity((await h.Accounts.RegisterAsync(new("carol", "correct horse"))).Id, "carol");
        await ops.ReactAsync(bob, R("lounge"), sent.Id, "e0").Timed();
        Assert.Equal(2, (await h.Store.Messages.FindAsync("lounge", sent.Id).Timed())!.Reactions[0].Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("a b")]
    [InlineData("\u0007")]
    [InlineData("lone surrogate")] // built below: attribute data cannot hold one
    public async Task A_bad_emoji_is_validation_failed(string emoji)
    {
        emoji = emoji == "lone surrogate" ? "\ud83d" : emoji;
        var (h, alice, _) = await RoomAsync();
        await using var _h = h;
        var sent = (await h.SendAsync(alice, "lounge", "x", null)).Message;
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => Ops(h).ReactAsync(alice, R("lounge"), sent.Id, emoji));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => Ops(h).ReactAsync(alice, R("lounge"), sent.Id, new string('x', 1000)));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => Ops(h).ReactAsync(alice, R("lounge"), sent.Id, new string('x', 33)));
        await Ops(h).ReactAsync(alice, R("lounge"), sent.Id, new string('x', 32)).Timed();
    }

    [Fact]
    public async Task An_emoji_is_normalized_so_composed_and_decomposed_forms_are_one_reaction()
    {
        var (h, alice, bob) = await RoomAsync();
        await using var _h = h;
        var sent = (await h.SendAsync(alice, "lounge", "x", null)).Message;
        await Ops(h).ReactAsync(alice, R("lounge"), sent.Id, "e\u0301").Timed();
        var current = await Ops(h).ReactAsync(bob, R("lounge"), sent.Id, "\u00e9").Timed();
        var reaction = Assert.Single(current.Reactions);
        Assert.Equal(("\u00e9", 2), (reaction.Emoji, reaction.Count));
    }

    [Fact]
    public async Task Reacting_in_a_public_room_makes_the_user_a_member_and_a_ban_is_forbidden()
    {
        var (h, alice, _) = await RoomAsync();
        await using var _h = h;
        var dave = await h.UserAsync("dave");
        var sent = (await h.SendAsync(alice, "lounge", "x", null)).Message;
        await Ops(h).ReactAsync(dave, R("lounge"), sent.Id, "👍").Timed();
        var membership = h.Services.GetRequiredService<MembershipService>();
        Assert.True((await membership.GetAccessAsync(dave, R("lounge")).Timed()).IsMember);

        await membership.BanAsync(alice, R("lounge"), "dave", null, null).Timed();
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => Ops(h).UnreactAsync(dave, R("lounge"), sent.Id, "👍"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => Ops(h).DeleteAsync(dave, R("lounge"), sent.Id));
    }

    [Fact]
    public async Task In_a_direct_room_only_the_author_deletes()
    {
        var (h, alice, bob) = await RoomAsync();
        await using var _h = h;
        var (direct, _) = await h.Services.GetRequiredService<MembershipService>().GetOrCreateDirectAsync(alice, ["bob"]).Timed();
        var sent = (await h.SendAsync(alice, direct.Name, "between us", null)).Message;
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => Ops(h).DeleteAsync(bob, R(direct.Name), sent.Id));
        Assert.True((await Ops(h).DeleteAsync(alice, R(direct.Name), sent.Id).Timed()).Deleted);
    }

    [Fact]
    public async Task A_reply_to_a_deleted_message_is_forbidden_but_a_retry_of_an_accepted_reply_gets_its_ack()
    {
        var (h, alice, bob) = await RoomAsync();
        await using var _h = h;
        var root = (await h.SendAsync(alice, "lounge", "root", null)).Message;
        var reply = await h.Sender.SendAsync(bob, new SendMessageRequest(R("lounge"), "reply", "k1") { ReplyTo = root.Id }).Timed();
        Assert.True(reply.Created);
        await Ops(h).DeleteAsync(alice, R("lounge"), root.Id).Timed();

        var retry = await h.Sender.SendAsync(bob, new SendMessageRequest(R("lounge"), "reply", "k1") { ReplyTo = root.Id }).Timed();
        Assert.Equal((false, reply.Message.Id), (retry.Created, retry.Message.Id));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Sender.SendAsync(bob, new SendMessageRequest(R("lounge"), "late", "k2") { ReplyTo = root.Id }));
        await Wait.ChatErrorAsync(ChatErrorCodes.MessageNotFound, () => h.Sender.SendAsync(bob, new SendMessageRequest(R("lounge"), "lost", "k3") { ReplyTo = Guid.NewGuid() }));
    }

    [Fact]
    public async Task A_read_marker_beyond_the_last_seq_is_clamped_and_moves_forward_only_publishing_only_moves()
    {
        var (h, alice, bob) = await RoomAsync();
        await using var _h = h;
        await h.SendAsync(alice, "lounge", "one", null);
        await h.SendAsync(alice, "lounge", "two", null);
        var read = h.Services.GetRequiredService<ReadStateService>();

        Assert.Equal(2, (await read.MarkReadAsync(bob, R("lounge"), long.MaxValue, "conn-1").Timed()).Seq);
        Assert.Equal(2, (await read.MarkReadAsync(bob, R("lounge"), 1).Timed()).Seq);
        Assert.Equal(2, await read.GetReadSeqAsync(bob, R("lounge")).Timed());
        var moved = Assert.Single(h.Transport.PublishedOf<ReadMarkerMoved>());
        Assert.Equal((bob.UserId, "lounge", 2L, "conn-1", UserChannels.For(bob.UserId)), (moved.UserId, moved.ChatRoom, moved.Seq, moved.ExceptConnectionId, moved.Room));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => read.MarkReadAsync(bob, R("lounge"), -1));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => read.MarkReadAsync(bob, R("lounge"), null));

        // Sending does not move the sender's marker.
        await h.SendAsync(bob, "lounge", "three", null);
        Assert.Equal(2, await read.GetReadSeqAsync(bob, R("lounge")).Timed());
    }

    [Theory]
    [InlineData("hi @bob", new[] { "bob" })]
    [InlineData("@bob, @carol.", new[] { "bob", "carol" })]
    [InlineData("@Bob @bob @BOB", new[] { "Bob" })]
    [InlineData("mail alice@bob.example", new string[0])]
    [InlineData("@@bob", new string[0])]
    [InlineData("(@bob)", new[] { "bob" })]
    [InlineData("@ bob", new string[0])]
    public void Mentions_are_the_names_after_an_at_sign_that_starts_a_word(string text, string[] expected) =>
        Assert.Equal(expected, Mentions.Names(text));

    [Fact]
    public async Task Mentions_name_members_only_and_each_mentioned_member_but_the_author_is_told()
    {
        var (h, alice, bob) = await RoomAsync();
        await using var _h = h;
        await h.UserAsync("stranger");
        var sent = (await h.SendAsync(alice, "lounge", "@bob @stranger @alice @nobody", null)).Message;
        Assert.Equal([bob.UserId, alice.UserId], sent.Mentions);
        var told = Assert.Single(h.Transport.PublishedOf<UserMentioned>());
        Assert.Equal((bob.UserId, sent.Id), (told.UserId, told.Message.Id));
    }

    [Theory]
    [InlineData("\"")]
    [InlineData("*")]
    [InlineData("NEAR")]
    [InlineData("((((")]
    [InlineData("a\" OR \"b")]
    [InlineData("x) AND NOT (y")]
    public async Task Search_queries_are_plain_text(string q)
    {
        var (h, alice, _) = await RoomAsync();
        await using var _h = h;
        await h.SendAsync(alice, "lounge", "near the end of the day", null);
        var found = await h.Services.GetRequiredService<SearchService>().SearchAsync(alice, new SearchRequest(q, "lounge")).Timed();
        Assert.Equal(q == "NEAR", found.Count == 1);
    }

    [Fact]
    public async Task Search_covers_the_rooms_the_caller_may_read_and_never_deleted_messages()
    {
        var (h, alice, bob) = await RoomAsync();
        await using var _h = h;
        var membership = h.Services.GetRequiredService<MembershipService>();
        await h.Rooms.CreateAsync(R("secret"), alice, RoomKind.Private).Timed();
        await h.Rooms.CreateAsync(R("banned-from"), alice).Timed();
        await h.SendAsync(alice, "secret", "zebra in secret", null);
        await h.SendAsync(alice, "banned-from", "zebra where bob is banned", null);
        var visible = (await h.SendAsync(alice, "lounge", "zebra in the lounge", null)).Message;
        var gone = (await h.SendAsync(alice, "lounge", "zebra deleted", null)).Message;
        await Ops(h).DeleteAsync(alice, R("lounge"), gone.Id).Timed();
        await membership.JoinAsync(bob, R("banned-from")).Timed();
        await membership.BanAsync(alice, R("banned-from"), "bob", null, null).Timed();

        var search = h.Services.GetRequiredService<SearchService>();
        Assert.Equal([visible.Id], (await search.SearchAsync(bob, new SearchRequest("ZEBRA")).Timed()).Select(m => m.Id));
        Assert.Equal(3, (await search.SearchAsync(alice, new SearchRequest("zebra")).Timed()).Count);
        Assert.Equal(2, (await search.SearchAsync(alice, new SearchRequest("zebra", Limit: 2)).Timed()).Count);
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => search.SearchAsync(bob, new SearchRequest("zebra", "banned-from")));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => search.SearchAsync(bob, new SearchRequest("zebra", "secret")));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => search.SearchAsync(bob, new SearchRequest("zebra", Before: Guid.NewGuid())));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => search.SearchAsync(bob, new SearchRequest(null)));
    }

    [Fact]
    public async Task Options_out_of_range_fail_at_start_up()
    {
        foreach (var configure in new Action<ChitChatOptions>[] { o => o.MaxReactionsPerMessage = 0, o => o.EditWindow = TimeSpan.FromDays(-1), o => o.DefaultSearchPageSize = 500, o => o.DefaultEventsPageSize = 600 })
        {
            var collection = new ServiceCollection();
            collection.AddLogging();
            collection.AddChitChat(configure);
            await using var provider = collection.BuildServiceProvider();
            Assert.ThrowsAny<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ChitChatOptions>>().Value);
        }
    }
}
