using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests;

/// <summary>Protocol version 2's message operations, threads, read state, mentions, events and search, over HTTP and the hub.</summary>
public sealed class MessageLifecycleTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    [Fact]
    public async Task An_edit_by_the_author_returns_the_message_and_members_get_messageUpdated_with_the_rooms_next_seq()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        await using var watcher = await bob.ConnectAsync();
        await watcher.JoinAsync(room, 0);
        var sent = await SendAsync(alice, room, "helo");

        using var http = alice.Http();
        using var response = await http.PatchAsJsonAsync(ChitChatRoutes.Message(room, sent.Id), new EditMessageBody("hello")).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var edited = await ReadAsync<MessageDto>(response);
        Assert.Equal(("hello", sent.Seq, false), (edited.Text, edited.Seq, edited.Deleted));
        Assert.NotNull(edited.EditedAt);

        await watcher.WaitUntilAsync(c => c.Updates(room).Length == 1, "bob receives the edit");
        var update = watcher.Updates(room)[0];
        Assert.Equal((sent.Seq + 1, MessageChanges.Edited, "hello", sent.Seq), (update.Seq, update.Change, update.Message.Text, update.Message.Seq));
        Assert.Equal([sent.Seq, sent.Seq + 1], watcher.Sequenced(room));

        // History serves the current state in the message's own place.
        var history = await http.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Messages(room), ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.Equal("hello", Assert.Single(history!).Text);
    }

    [Fact]
    public async Task Editing_someone_elses_a_deleted_an_unknown_or_another_rooms_message_is_refused_with_the_protocols_codes()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        var otherRoom = await Server.NewRoomAsync(alice);
        var mine = await SendAsync(alice, room, "mine");
        var elsewhere = await SendAsync(alice, otherRoom, "elsewhere");
        using var asAlice = alice.Http();
        using var asBob = bob.Http();

        await AssertProblemAsync(asBob.PatchAsJsonAsync(ChitChatRoutes.Message(room, mine.Id), new EditMessageBody("hijack")), 403, "forbidden");
        await AssertProblemAsync(asAlice.PatchAsJsonAsync(ChitChatRoutes.Message(room, Guid.NewGuid()), new EditMessageBody("x")), 404, "message_not_found");
        await AssertProblemAsync(asAlice.PatchAsJsonAsync(ChitChatRoutes.Message(room, elsewhere.Id), new EditMessageBody("x")), 404, "message_not_found");
        await AssertProblemAsync(asAlice.PatchAsJsonAsync($"{ChitChatRoutes.Messages(room)}/not-a-guid", new EditMessageBody("x")), 404, "message_not_found");
        await AssertProblemAsync(asAlice.PatchAsJsonAsync(ChitChatRoutes.Message("no-such-room-" + Guid.NewGuid().ToString("N")[..6], mine.Id), new EditMessageBody("x")), 404, "room_not_found");
        await AssertProblemAsync(asAlice.PatchAsJsonAsync(ChitChatRoutes.Message(room, mine.Id), new EditMessageBody("  ")), 400, "validation_failed");

        using (var deleted = await asAlice.DeleteAsync(ChitChatRoutes.Message(room, mine.Id)).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await AssertProblemAsync(asAlice.PatchAsJsonAsync(ChitChatRoutes.Message(room, mine.Id), new EditMessageBody("back")), 403, "forbidden");
        await AssertProblemAsync(asAlice.PutAsync(ChitChatRoutes.Reaction(room, mine.Id, "👍"), null), 403, "forbidden");
    }

    [Fact]
    public async Task A_private_rooms_message_is_room_not_found_to_a_non_member()
    {
        var (alice, bob, _) = await TwoMembersAsync();
        var secret = $"secret-{Guid.NewGuid():N}"[..20];
        using var asAlice = alice.Http();
        using (var created = await asAlice.PostAsJsonAsync(ChitChatRoutes.Rooms, new CreateRoomBody(secret, "private")).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var word = "hidden" + Guid.NewGuid().ToString("N");
        var hidden = await SendAsync(alice, secret, $"a {word} text");
        using var asBob = bob.Http();
        await AssertProblemAsync(asBob.PatchAsJsonAsync(ChitChatRoutes.Message(secret, hidden.Id), new EditMessageBody("x")), 404, "room_not_found");
        await AssertProblemAsync(asBob.DeleteAsync(ChitChatRoutes.Message(secret, hidden.Id)), 404, "room_not_found");
        await AssertProblemAsync(asBob.PutAsync(ChitChatRoutes.Reaction(secret, hidden.Id, "👍"), null), 404, "room_not_found");
        await AssertProblemAsync(asBob.GetAsync(ChitChatRoutes.Replies(secret, hidden.Id)), 404, "room_not_found");
        await AssertProblemAsync(asBob.GetAsync(ChitChatRoutes.Events(secret)), 404, "room_not_found");
        await AssertProblemAsync(asBob.PutAsJsonAsync(ChitChatRoutes.Read(secret), new MarkReadBody(1)), 404, "room_not_found");
        await AssertProblemAsync(asBob.GetAsync($"{ChitChatRoutes.Search}?q={word}&room={secret}"), 404, "room_not_found");
        Assert.Empty((await SearchAsync(bob, word))!);
        Assert.Equal(hidden.Id, Assert.Single((await SearchAsync(alice, word))!).Id);
    }

    [Fact]
    public async Task Deleting_is_for_the_author_an_owner_or_a_moderator_and_leaves_a_tombstone_in_place()
    {
        var (owner, bob, room) = await TwoMembersAsync();
        var carol = await Server.NewUserAsync("carol");
        await JoinAsync(carol, room);
        var bobs = await SendAsync(bob, room, "bob's words");
        var bobs2 = await SendAsync(bob, room, "more words of bob");
        using var asCarol = carol.Http();
        await AssertProblemAsync(asCarol.DeleteAsync(ChitChatRoutes.Message(room, bobs.Id)), 403, "forbidden");

        using var asOwner = owner.Http();
        using (var byOwner = await asOwner.DeleteAsync(ChitChatRoutes.Message(room, bobs.Id)).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, byOwner.StatusCode);
        }

        // The author may delete while muted; deleting again changes nothing (no new seq).
        using (var mute = await asOwner.PatchAsJsonAsync($"{ChitChatRoutes.Rooms}/{room}/members/{bob.UserName}", new { mutedUntil = DateTime.UtcNow.AddHours(1) }).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.OK, mute.StatusCode);
        }

        using var asBob = bob.Http();
        using (var own = await asBob.DeleteAsync(ChitChatRoutes.Message(room, bobs2.Id)).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, own.StatusCode);
        }

        var lastSeq = await LastSeqAsync(owner, room);
        using (var again = await asBob.DeleteAsync(ChitChatRoutes.Message(room, bobs2.Id)).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        }

        Assert.Equal(lastSeq, await LastSeqAsync(owner, room));
        var history = await asOwner.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Messages(room), ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.All(history!, m => Assert.True(m.Deleted && m.Text.Length == 0));
        Assert.Equal(new[] { bobs.Seq, bobs2.Seq }, history!.Select(m => m.Seq));
        Assert.Empty((await SearchAsync(owner, "words", room))!);
    }

    [Fact]
    public async Task A_mute_blocks_editing_and_reacting_but_not_removing_ones_reaction()
    {
        var (owner, bob, room) = await TwoMembersAsync();
        var message = await SendAsync(bob, room, "before the mute");
        using var asBob = bob.Http();
        using (var react = await asBob.PutAsync(ChitChatRoutes.Reaction(room, message.Id, "👍"), null).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, react.StatusCode);
        }

        using var asOwner = owner.Http();
        using (var mute = await asOwner.PatchAsJsonAsync($"{ChitChatRoutes.Rooms}/{room}/members/{bob.UserName}", new { mutedUntil = DateTime.UtcNow.AddHours(1) }).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.OK, mute.StatusCode);
        }

        await AssertProblemAsync(asBob.PatchAsJsonAsync(ChitChatRoutes.Message(room, message.Id), new EditMessageBody("edited")), 403, "forbidden");
        await AssertProblemAsync(asBob.PutAsync(ChitChatRoutes.Reaction(room, message.Id, "🎉"), null), 403, "forbidden");
        using (var unreact = await asBob.DeleteAsync(ChitChatRoutes.Reaction(room, message.Id, "👍")).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, unreact.StatusCode);
        }

        var current = (await asOwner.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Messages(room), ChitChatServer.Json).WaitAsync(Timeouts.Default))!.Single();
        Assert.Empty(current.Reactions);
        Assert.Equal("before the mute", current.Text);
    }

    [Fact]
    public async Task Reactions_are_idempotent_per_user_counted_per_emoji_and_an_emoji_of_a_thousand_characters_is_validation_failed()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        var message = await SendAsync(alice, room, "react to me");
        foreach (var (user, emoji) in new[] { (alice, "👍"), (bob, "👍"), (bob, "👍"), (bob, "🎉") })
        {
            using var http = user.Http();
            using var response = await http.PutAsync(ChitChatRoutes.Reaction(room, message.Id, emoji), null).WaitAsync(Timeouts.Default);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        Assert.Equal(message.Seq + 3, await LastSeqAsync(alice, room)); // the repeat took no seq
        using var asAlice = alice.Http();
        var current = (await asAlice.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Messages(room), ChitChatServer.Json).WaitAsync(Timeouts.Default))!.Single();
        Assert.Equal(2, current.Reactions.Count);
        Assert.Equal(("👍", 2), (current.Reactions[0].Emoji, current.Reactions[0].Count));
        Assert.Equal([alice.Id, bob.Id], current.Reactions[0].UserIds);
        Assert.Equal(("🎉", 1), (current.Reactions[1].Emoji, current.Reactions[1].Count));

        await AssertProblemAsync(asAlice.PutAsync(ChitChatRoutes.Reaction(room, message.Id, new string('x', 1000)), null), 400, "validation_failed");
        await AssertProblemAsync(asAlice.PutAsync(ChitChatRoutes.Reaction(room, Guid.NewGuid(), "👍"), null), 404, "message_not_found");
        Assert.Equal(message.Seq + 3, await LastSeqAsync(alice, room));
    }

    [Fact]
    public async Task More_distinct_emojis_than_the_cap_are_validation_failed_and_change_nothing()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:MaxReactionsPerMessage"] = "3" });
        var alice = await server.NewUserAsync();
        var room = await server.NewRoomAsync(alice);
        var message = await SendAsync(alice, room, "capped");
        using var http = alice.Http();
        foreach (var emoji in new[] { "a", "b", "c" })
        {
            using var ok = await http.PutAsync(ChitChatRoutes.Reaction(room, message.Id, emoji), null).WaitAsync(Timeouts.Default);
            Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        }

        var lastSeq = await LastSeqAsync(alice, room);
        await AssertProblemAsync(http.PutAsync(ChitChatRoutes.Reaction(room, message.Id, "d"), null), 400, "validation_failed");
        Assert.Equal(lastSeq, await LastSeqAsync(alice, room));
        var current = (await http.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Messages(room), ChitChatServer.Json).WaitAsync(Timeouts.Default))!.Single();
        Assert.Equal(["a", "b", "c"], current.Reactions.Select(r => r.Emoji));
        var limits = await http.GetFromJsonAsync<ServerLimits>(ChitChatRoutes.Limits, ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.Equal((3, 32, 100, 500, 20, 100), (limits!.MaxReactionsPerMessage, limits.MaxEmojiLength, limits.DefaultEventsPageSize, limits.MaxEventsPageSize, limits.DefaultSearchPageSize, limits.MaxSearchPageSize));
    }

    [Fact]
    public async Task Replies_form_a_thread_at_its_root_listed_ascending_and_counted_on_the_root()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        var root = await SendAsync(alice, room, "root");
        var reply = await SendAsync(bob, room, "first reply", replyTo: root.Id);
        Assert.Equal((root.Id, root.Id), (reply.ReplyTo, reply.ThreadRoot));

        // Over the hub, a reply to a reply belongs to the root's thread.
        await using var hub = await alice.ConnectAsync();
        var ack = await hub.Connection.InvokeAsync<SendMessageAck>(HubMethods.Reply, room, reply.Id, "reply to the reply", "c-" + Guid.NewGuid().ToString("N")).WaitAsync(Timeouts.Default);

        using var http = alice.Http();
        var thread = await http.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Replies(room, root.Id), ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.Equal(new[] { reply.Id, ack.Id }, thread!.Select(m => m.Id));
        Assert.Equal((reply.Id, root.Id), (thread![1].ReplyTo, thread![1].ThreadRoot));
        var after = await http.GetFromJsonAsync<MessageDto[]>($"{ChitChatRoutes.Replies(room, root.Id)}?after={reply.Seq}", ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.Equal(ack.Id, Assert.Single(after!).Id);
        var viaHub = await hub.Connection.InvokeAsync<MessageDto[]>(HubMethods.GetReplies, room, root.Id, null, null).WaitAsync(Timeouts.Default);
        Assert.Equal(thread.Select(m => m.Id), viaHub.Select(m => m.Id));

        var history = await http.GetFromJsonAsync<MessageDto[]>(ChitChatRoutes.Messages(room), ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.Equal(2, history!.Single(m => m.Id == root.Id).ReplyCount);

        await AssertProblemAsync(http.GetAsync(ChitChatRoutes.Replies(room, reply.Id)), 400, "validation_failed");
        await AssertProblemAsync(http.GetAsync(ChitChatRoutes.Replies(room, Guid.NewGuid())), 404, "message_not_found");
        var otherRoom = await Server.NewRoomAsync(alice);
        await AssertProblemAsync(http.PostAsJsonAsync(ChitChatRoutes.Messages(otherRoom), new SendMessageBody("wrong room", null, root.Id)), 404, "message_not_found");
        Assert.Equal(0, await LastSeqAsync(alice, otherRoom));
    }

    [Fact]
    public async Task A_retried_clientMessageId_after_an_edit_returns_the_current_message_over_HTTP_and_the_original_ack_over_the_hub()
    {
        var (alice, _, room) = await TwoMembersAsync();
        await using var hub = await alice.ConnectAsync();
        var key = "k-" + Guid.NewGuid().ToString("N");
        var ack = await hub.SendAsync(room, "first words", key);
        using var http = alice.Http();
        using (var edit = await http.PatchAsJsonAsync(ChitChatRoutes.Message(room, ack.Id), new EditMessageBody("second words")).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }

        var retried = await hub.SendAsync(room, "first words", key);
        Assert.Equal(ack, retried);

        using var again = await http.PostAsJsonAsync(ChitChatRoutes.Messages(room), new SendMessageBody("first words", key)).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var current = await ReadAsync<MessageDto>(again);
        Assert.Equal((ack.Id, ack.Seq, "second words"), (current.Id, current.Seq, current.Text));
    }

    [Fact]
    public async Task Events_page_the_rooms_sequence_with_messages_and_updates_in_their_current_state()
    {
        var (alice, _, room) = await TwoMembersAsync();
        var first = await SendAsync(alice, room, "one");
        using var http = alice.Http();
        using (var edit = await http.PatchAsJsonAsync(ChitChatRoutes.Message(room, first.Id), new EditMessageBody("one, edited")).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }

        await SendAsync(alice, room, "three");
        var events = (await http.GetFromJsonAsync<RoomEventDto[]>($"{ChitChatRoutes.Events(room)}?after=0", ChitChatServer.Json).WaitAsync(Timeouts.Default))!;
        Assert.Equal(new long[] { 1, 2, 3 }, events!.Select(e => e.Seq));
        Assert.Equal(new[] { RoomEventTypes.Message, RoomEventTypes.MessageUpdated, RoomEventTypes.Message }, events!.Select(e => e.Type));
        Assert.Equal(new string?[] { null, MessageChanges.Edited, null }, events.Select(e => e.Change));
        Assert.All(events.Take(2), e => Assert.Equal("one, edited", e.Message.Text));

        var page = await http.GetFromJsonAsync<RoomEventDto[]>($"{ChitChatRoutes.Events(room)}?after=1&limit=1", ChitChatServer.Json).WaitAsync(Timeouts.Default);
        Assert.Equal(2, Assert.Single(page!).Seq);
        await using var hub = await alice.ConnectAsync();
        var viaHub = await hub.Connection.InvokeAsync<RoomEventDto[]>(HubMethods.GetEvents, room, 2L, null).WaitAsync(Timeouts.Default);
        Assert.Equal(3, Assert.Single(viaHub).Seq);

        await AssertProblemAsync(http.GetAsync($"{ChitChatRoutes.Events(room)}?after=-1"), 400, "validation_failed");
        await AssertProblemAsync(http.GetAsync($"{ChitChatRoutes.Events(room)}?limit=0"), 400, "validation_failed");
        await AssertProblemAsync(http.GetAsync($"{ChitChatRoutes.Events(room)}?limit=x"), 400, "validation_failed");
    }

    [Fact]
    public async Task JoinRoom_after_a_seq_returns_missed_messages_and_updates_and_a_reconnect_gets_every_later_event_exactly_once_in_order()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        var first = await SendAsync(alice, room, "one");
        await using (var before = await bob.ConnectAsync())
        {
            await before.JoinAsync(room, 0);
        }

        using var http = alice.Http();
        using (var edit = await http.PatchAsJsonAsync(ChitChatRoutes.Message(room, first.Id), new EditMessageBody("one, edited")).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }

        await SendAsync(alice, room, "three");
        await using var hub = await bob.ConnectAsync();
        var join = await hub.JoinAsync(room, 1);
        Assert.Equal(3, join.LastSeq);
        Assert.Equal(new long[] { 3 }, join.Missed.Select(m => m.Seq));
        var update = Assert.Single(join.Updates);
        Assert.Equal((2L, MessageChanges.Edited, "one, edited"), (update.Seq, update.Change, update.Message.Text));

        // Live from here: a reaction and a delete of another connection, then a message, in seq order, nothing twice.
        await using var other = await alice.ConnectAsync();
        await other.Connection.InvokeAsync(HubMethods.React, room, first.Id, "👍").WaitAsync(Timeouts.Default);
        await other.Connection.InvokeAsync(HubMethods.DeleteMessage, room, first.Id).WaitAsync(Timeouts.Default);
        await other.SendAsync(room, "six");
        await hub.WaitUntilAsync(c => c.Sequenced(room).Length == 3, "bob receives seqs 4 to 6");
        Assert.Equal(new long[] { 4, 5, 6 }, hub.Sequenced(room));
        Assert.Equal(new[] { MessageChanges.Reactions, MessageChanges.Deleted }, hub.Updates(room).Select(u => u.Change));
        Assert.True(hub.Updates(room)[1].Message.Deleted);
    }

    [Fact]
    public async Task A_read_marker_moves_forward_only_is_clamped_to_the_last_seq_and_reaches_the_users_other_connections()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        await SendAsync(alice, room, "one");
        await SendAsync(alice, room, "two @" + bob.UserName);
        await SendAsync(bob, room, "bob's own");
        await using var phone = await bob.ConnectAsync();
        await using var laptop = await bob.ConnectAsync(); // joins no room: read events reach it anyway

        var entry = await RoomEntryAsync(bob, room);
        Assert.Equal((0L, 2L, 1L), (entry.LastReadSeq, entry.Unread, entry.Mentions)); // bob's own message is not unread

        await phone.Connection.InvokeAsync(HubMethods.MarkRead, room, 1L).WaitAsync(Timeouts.Default);
        await laptop.WaitUntilAsync(c => c.Reads(room).Length == 1, "the laptop hears of the phone's marker");
        Assert.Equal(1, laptop.Reads(room)[0].Seq);
        entry = await RoomEntryAsync(bob, room);
        Assert.Equal((1L, 1L, 1L), (entry.LastReadSeq, entry.Unread, entry.Mentions));

        using var http = bob.Http();
        using (var beyond = await http.PutAsJsonAsync(ChitChatRoutes.Read(room), new MarkReadBody(1_000_000)).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, beyond.StatusCode);
        }

        await phone.WaitUntilAsync(c => c.Reads(room).Length == 1, "an HTTP mark reaches every connection");
        await laptop.WaitUntilAsync(c => c.Reads(room).Length == 2, "an HTTP mark reaches every connection");
        Assert.Equal(3, phone.Reads(room)[0].Seq); // clamped to the last seq
        entry = await RoomEntryAsync(bob, room);
        Assert.Equal((3L, 0L, 0L), (entry.LastReadSeq, entry.Unread, entry.Mentions));

        using (var backwards = await http.PutAsJsonAsync(ChitChatRoutes.Read(room), new MarkReadBody(1)).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.NoContent, backwards.StatusCode);
        }

        Assert.Equal(3, (await RoomEntryAsync(bob, room)).LastReadSeq);
        await AssertProblemAsync(http.PutAsJsonAsync(ChitChatRoutes.Read(room), new MarkReadBody(-1)), 400, "validation_failed");

        // The phone that marked over the hub was not told its own marker (a sentinel from the laptop's mark arrives alone).
        await SendAsync(alice, room, "four");
        await laptop.Connection.InvokeAsync(HubMethods.MarkRead, room, 4L).WaitAsync(Timeouts.Default);
        await phone.WaitUntilAsync(c => c.Reads(room).Length == 2, "the phone hears of the laptop's marker");
        Assert.Equal(new long[] { 3, 4 }, phone.Reads(room).Select(r => r.Seq));
        Assert.Equal(new long[] { 1, 3 }, laptop.Reads(room).Select(r => r.Seq));
    }

    [Fact]
    public async Task A_mention_of_a_member_is_listed_on_the_message_and_reaches_their_connections_outside_the_room()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        var outsider = await Server.NewUserAsync("outsider");
        await using var bobs = await bob.ConnectAsync(); // bob has not joined the room on this connection
        await using var outsiders = await outsider.ConnectAsync();

        var sent = await SendAsync(alice, room, $"hey @{bob.UserName.ToUpperInvariant()} and @{outsider.UserName}, mail me at a@{bob.UserName}");
        Assert.Equal([bob.Id], sent.Mentions); // the outsider is no member; an @ inside a word mentions nobody

        await bobs.WaitUntilAsync(c => c.MentionEvents(room).Length == 1, "bob is told of the mention");
        Assert.Equal(sent.Id, bobs.MentionEvents(room)[0].Message.Id);

        // An edit that mentions someone new tells only them.
        var carol = await Server.NewUserAsync("carol");
        await JoinAsync(carol, room);
        await using var carols = await carol.ConnectAsync();
        using var http = alice.Http();
        using var edit = await http.PatchAsJsonAsync(ChitChatRoutes.Message(room, sent.Id), new EditMessageBody($"hey @{bob.UserName} and @{carol.UserName}")).WaitAsync(Timeouts.Default);
        Assert.Equal([bob.Id, carol.Id], (await ReadAsync<MessageDto>(edit)).Mentions);
        await carols.WaitUntilAsync(c => c.MentionEvents(room).Length == 1, "carol is told of the edit's mention");

        // Sentinel: a new mention of bob arrives as bob's second, so the edit sent him none.
        await SendAsync(alice, room, $"again @{bob.UserName}");
        await bobs.WaitUntilAsync(c => c.MentionEvents(room).Length == 2, "bob's second mention");
        Assert.Equal("again @" + bob.UserName, bobs.MentionEvents(room)[1].Message.Text);
        Assert.Empty(outsiders.MentionEvents(room));
    }

    [Theory]
    [InlineData("\"")]
    [InlineData("*")]
    [InlineData("NEAR")]
    [InlineData("(unbalanced")]
    [InlineData("a OR b) AND (")]
    [InlineData("\"quoted* NEAR/3 (x")]
    [InlineData("-")]
    public async Task Search_treats_operators_quotes_and_parentheses_as_plain_text(string q)
    {
        var (alice, _, room) = await TwoMembersAsync();
        await SendAsync(alice, room, "a plain message about unbalanced parentheses");
        using var http = alice.Http();
        using var response = await http.GetAsync($"{ChitChatRoutes.Search}?q={Uri.EscapeDataString(q)}&room={room}").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var found = await ReadAsync<MessageDto[]>(response);
        Assert.Equal(q == "(unbalanced", found.Length == 1);
    }

    [Fact]
    public async Task Search_matches_every_word_ignoring_case_and_diacritics_newest_first_paged_with_before()
    {
        var (alice, bob, room) = await TwoMembersAsync();
        var older = await SendAsync(alice, room, "Café meeting at noon");
        await SendAsync(bob, room, "no match here");
        var newer = await SendAsync(bob, room, "the CAFE meeting moved");
        await SendAsync(alice, room, "meeting without the word");

        var found = await SearchAsync(alice, "cafe MEETING", room);
        Assert.Equal(new[] { newer.Id, older.Id }, found!.Select(m => m.Id));
        var next = await SearchAsync(alice, "cafe meeting", room, $"&before={newer.Id}");
        Assert.Equal(older.Id, Assert.Single(next!).Id);
        var one = await SearchAsync(alice, "meeting", room, "&limit=1");
        Assert.Single(one!);

        using var http = alice.Http();
        await AssertProblemAsync(http.GetAsync(ChitChatRoutes.Search), 400, "validation_failed");
        await AssertProblemAsync(http.GetAsync($"{ChitChatRoutes.Search}?q=x&limit=0"), 400, "validation_failed");
        await AssertProblemAsync(http.GetAsync($"{ChitChatRoutes.Search}?q=x&before=nope"), 400, "validation_failed");
    }

    private async Task<(TestUser Owner, TestUser Member, string Room)> TwoMembersAsync()
    {
        var owner = await Server.NewUserAsync("owner");
        var member = await Server.NewUserAsync("member");
        var room = await Server.NewRoomAsync(owner);
        await JoinAsync(member, room);
        return (owner, member, room);
    }

    private static async Task JoinAsync(TestUser user, string room)
    {
        using var http = user.Http();
        using var response = await http.PostAsJsonAsync($"{ChitChatRoutes.Rooms}/{room}/members", new AddMemberBody(user.UserName)).WaitAsync(Timeouts.Default);
        Assert.True(response.IsSuccessStatusCode, $"join: {(int)response.StatusCode}");
    }

    internal static async Task<MessageDto> SendAsync(TestUser user, string room, string text, string? clientMessageId = null, Guid? replyTo = null)
    {
        using var http = user.Http();
        using var response = await http.PostAsJsonAsync(ChitChatRoutes.Messages(room), new SendMessageBody(text, clientMessageId, replyTo)).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await ReadAsync<MessageDto>(response);
    }

    private static async Task<long> LastSeqAsync(TestUser user, string room)
    {
        using var http = user.Http();
        var dto = await http.GetFromJsonAsync<RoomDto>($"{ChitChatRoutes.Rooms}/{room}", ChitChatServer.Json).WaitAsync(Timeouts.Default);
        return dto!.LastSeq;
    }

    private static async Task<RoomListEntryDto> RoomEntryAsync(TestUser user, string room)
    {
        using var http = user.Http();
        var list = await http.GetFromJsonAsync<RoomListEntryDto[]>(ChitChatRoutes.Rooms, ChitChatServer.Json).WaitAsync(Timeouts.Default);
        return list!.Single(r => r.Name == room);
    }

    private static async Task<MessageDto[]?> SearchAsync(TestUser user, string q, string? room = null, string extra = "")
    {
        using var http = user.Http();
        var url = $"{ChitChatRoutes.Search}?q={Uri.EscapeDataString(q)}" + (room is null ? "" : $"&room={room}") + extra;
        return await http.GetFromJsonAsync<MessageDto[]>(url, ChitChatServer.Json).WaitAsync(Timeouts.Default);
    }

    private static async Task AssertProblemAsync(Task<HttpResponseMessage> request, int status, string code)
    {
        using var response = await request.WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(response, status, code);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<T>(ChitChatServer.Json).WaitAsync(Timeouts.Default))!;
}
