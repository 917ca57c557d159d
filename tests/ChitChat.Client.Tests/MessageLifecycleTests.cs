using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Testing;

namespace ChitChat.Client.Tests;

/// <summary>Protocol version 2 through the SDK against the real server: updates as room events, threads, read state, mentions, search.</summary>
public sealed class MessageLifecycleTests
{
    [Fact]
    public async Task A_dropped_update_frame_is_repaired_with_GetEvents_exactly_once_and_in_order()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = await WebSocketProxy.StartAsync(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address, webSocketsOnly: true);
        var room = await ServerHost.NewRoomAsync(bob);
        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins");
        var events = new EventCollector(subscription);
        var first = await Wait.For(bob.SendAsync(room, "first"), "bob sends");
        await events.WaitForSeqAsync(first.Seq, "alice receives the first message");

        proxy.DropNextUpdateEvent();
        var edited = await Wait.For(bob.EditMessageAsync(room, first.Id, "first, edited"), "bob edits");
        Assert.Equal("first, edited", edited.Text);
        var lostSeq = await Wait.For(proxy.UpdateEventDropped.Task, "the proxy drops the live messageUpdated frame");
        Assert.Equal(0, proxy.InvocationCount(HubMethods.GetEvents));
        var next = await Wait.For(bob.SendAsync(room, "next"), "bob sends the next message");
        await events.WaitForSeqAsync(next.Seq, "alice sees the jump and repairs it");

        Assert.Equal([first.Seq, lostSeq, next.Seq], events.EventSeqs);
        Assert.Equal(first.Seq + 1, lostSeq);
        var update = Assert.IsType<MessageUpdated>(events.Events[1]);
        Assert.Equal((MessageChanges.Edited, first.Id, first.Seq, "first, edited"), (update.Change, update.Message.Id, update.Message.Seq, update.Message.Text));
        Assert.NotNull(update.Message.EditedAt);
        Assert.Equal(["first", "next"], events.Messages.Select(m => m.Text));
        Assert.True(proxy.InvocationCount(HubMethods.GetEvents) >= 1);
        Assert.Equal(0, proxy.InvocationCount(HubMethods.GetHistory));
    }

    [Fact]
    public async Task Edits_reactions_deletes_and_replies_arrive_in_seq_order_and_a_rejoin_catches_up_updates()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = new TcpProxy(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address);
        var room = await ServerHost.NewRoomAsync(bob);
        var states = new StateRecorder(alice);
        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins");
        var events = new EventCollector(subscription);

        var root = await Wait.For(bob.SendAsync(room, "root"), "bob sends");
        await Wait.For(alice.ReactAsync(room, root.Id, "👍"), "alice reacts");
        await Wait.For(alice.ReactAsync(room, root.Id, "👍"), "alice reacts again (changes nothing)");
        var reply = await Wait.For(alice.ReplyAsync(room, root.Id, "a reply"), "alice replies");
        await events.WaitForSeqAsync(reply.Seq, "alice receives the reaction and the reply");

        // While alice is offline bob edits and deletes: the re-join brings the updates (JoinRoom's updates) in seq order.
        proxy.Cut();
        await states.WaitForAsync(s => s.State == ChitChatConnectionState.Reconnecting, "alice notices the cut");
        await Wait.For(bob.EditMessageAsync(room, root.Id, "root, edited"), "bob edits while alice is offline");
        var doomed = await Wait.For(bob.SendAsync(room, "to be deleted"), "bob sends");
        await Wait.For(bob.DeleteMessageAsync(room, doomed.Id), "bob deletes it");
        proxy.Resume();
        await states.WaitForAsync(s => s.IsReconnect, "alice reconnects and catches up");
        var last = await Wait.For(bob.SendAsync(room, "after"), "bob sends after the reconnect");
        await events.WaitForSeqAsync(last.Seq, "alice receives everything");

        var all = events.Events;
        Assert.Equal(Enumerable.Range((int)root.Seq, all.Count).Select(s => (long)s), all.Select(e => e.Seq));
        Assert.Equal(
            [nameof(MessageReceived) + ":", nameof(MessageUpdated) + ":" + MessageChanges.Reactions, nameof(MessageReceived) + ":",
             nameof(MessageUpdated) + ":" + MessageChanges.Edited, nameof(MessageReceived) + ":", nameof(MessageUpdated) + ":" + MessageChanges.Deleted,
             nameof(MessageReceived) + ":"],
            all.Select(e => e.GetType().Name + ":" + (e as MessageUpdated)?.Change));
        var reaction = Assert.Single(((MessageUpdated)all[1]).Message.Reactions);
        Assert.Equal(("👍", 1, alice.User!.Id), (reaction.Emoji, reaction.Count, reaction.UserIds.Single()));
        var replyMessage = ((MessageReceived)all[2]).Message;
        Assert.Equal((root.Id, root.Id), (replyMessage.ReplyTo, replyMessage.ThreadRoot));
        var deleted = ((MessageUpdated)all[5]).Message;
        Assert.Equal((doomed.Id, true, string.Empty), (deleted.Id, deleted.Deleted, deleted.Text));

        var thread = await Wait.For(bob.GetRepliesAsync(room, root.Id), "bob reads the thread");
        Assert.Equal([reply.Id], thread.Select(m => m.Id));
        var page = await Wait.For(bob.GetEventsAsync(room, root.Seq, limit: 2), "bob pages the events");
        Assert.Equal([(RoomEventTypes.MessageUpdated, root.Seq + 1), (RoomEventTypes.Message, reply.Seq)], page.Select(e => (e.Type, e.Seq)));
        var error = await Assert.ThrowsAsync<ChitChatException>(() => alice.EditMessageAsync(room, root.Id, "not mine").WaitAsync(Wait.Timeout));
        Assert.Equal(ChatErrorCodes.Forbidden, error.Code);
    }

    [Fact]
    public async Task MarkRead_on_one_device_reaches_the_other_and_the_room_list_counts_unread_and_mentions()
    {
        await using var server = await ServerHost.StartAsync();
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice");
        await using var aliceTablet = new ChitChatClient(ServerHost.Options(server.Address, alice.User!.UserName));
        await Wait.For(aliceTablet.ConnectAsync(), "alice's second device connects");
        var room = await ServerHost.NewRoomAsync(bob);
        var mention = new TaskCompletionSource<MentionEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = new TaskCompletionSource<ReadEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        aliceTablet.MentionReceived += (_, m) => mention.TrySetResult(m);
        aliceTablet.ReadReceived += (_, r) => read.TrySetResult(r);
        var subscription = await Wait.For(alice.JoinRoomAsync(room), "alice joins (she becomes a member)");

        await Wait.For(bob.SendAsync(room, "hello"), "bob sends");
        var mentioning = await Wait.For(bob.SendAsync(room, $"hi @{alice.User!.UserName}"), "bob mentions alice");
        var mentioned = await Wait.For(mention.Task, "alice's tablet, which joined no room, gets the mention");
        Assert.Equal((room, mentioning.Id), (mentioned.Room, mentioned.Message.Id));
        Assert.Contains(alice.User.Id, mentioned.Message.Mentions);

        var before = (await Wait.For(aliceTablet.GetRoomsAsync(), "room list")).Single(r => r.Name == room);
        Assert.Equal((0L, 2L, 1L), (before.LastReadSeq, before.Unread, before.Mentions));

        await Wait.For(alice.MarkReadAsync(room, mentioning.Seq), "alice reads on her phone");
        var moved = await Wait.For(read.Task, "the tablet hears of it");
        Assert.Equal((room, mentioning.Seq), (moved.Room, moved.Seq));
        var after = (await Wait.For(aliceTablet.GetRoomsAsync(), "room list after reading")).Single(r => r.Name == room);
        Assert.Equal((mentioning.Seq, 0L, 0L), (after.LastReadSeq, after.Unread, after.Mentions));
        Assert.NotNull(subscription);
    }

    [Fact]
    public async Task Search_finds_every_word_newest_first_and_pages_with_before()
    {
        await using var server = await ServerHost.StartAsync();
        await using var bob = await server.ConnectAsync("bob");
        var room = await ServerHost.NewRoomAsync(bob);
        var older = await Wait.For(bob.SendAsync(room, "The quick brown fox"), "bob sends");
        await Wait.For(bob.SendAsync(room, "a slow brown dog"), "bob sends");
        var newer = await Wait.For(bob.SendAsync(room, "QUICK brown café"), "bob sends");

        var found = await Wait.For(bob.SearchAsync("brown quick", room), "search");
        Assert.Equal([newer.Id, older.Id], found.Select(m => m.Id));
        var next = await Wait.For(bob.SearchAsync("brown quick", room, limit: 1, before: newer.Id), "the next page");
        Assert.Equal([older.Id], next.Select(m => m.Id));
        await Wait.For(bob.DeleteMessageAsync(room, older.Id), "bob deletes the older one");
        Assert.Equal([newer.Id], (await Wait.For(bob.SearchAsync("quick"), "search every room")).Where(m => m.Room == room).Select(m => m.Id));
    }
}
