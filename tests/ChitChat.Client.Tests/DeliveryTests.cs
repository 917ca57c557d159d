using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Testing;

namespace ChitChat.Client.Tests;

/// <summary>Exactly-once, in-order room events through real network faults.</summary>
public sealed class DeliveryTests
{
    [Fact]
    public async Task After_a_cut_connection_the_subscriber_has_every_message_exactly_once_in_order_while_another_client_kept_sending()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = new TcpProxy(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address);
        var room = await ServerHost.NewRoomAsync(bob);
        var states = new StateRecorder(alice);
        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins");
        var events = new EventCollector(subscription);

        for (var i = 1; i <= 10; i++)
        {
            await Wait.For(bob.SendAsync(room, $"before {i}"), "bob sends before the cut");
        }

        await events.WaitForSeqAsync(10, "alice receives the messages before the cut");
        proxy.Cut();
        await states.WaitForAsync(s => s.State == ChitChatConnectionState.Reconnecting, "alice notices the cut");
        for (var i = 1; i <= 20; i++)
        {
            await Wait.For(bob.SendAsync(room, $"while cut {i}"), "bob sends while alice is offline");
        }

        // Bob keeps sending while alice reconnects and catches up.
        proxy.Resume();
        var during = Task.Run(async () =>
        {
            for (var i = 1; i <= 30; i++)
            {
                await bob.SendAsync(room, $"during {i}");
            }
        });
        await states.WaitForAsync(s => s.IsReconnect, "alice reconnects and catches up");
        await Wait.For(during, "bob's sends during the reconnect");
        var last = await Wait.For(bob.SendAsync(room, "after"), "bob sends after the reconnect");
        await events.WaitForSeqAsync(last.Seq, "alice receives everything");

        var history = await Wait.HistoryAsync(bob, room);
        Assert.Equal(61, history.Count);
        Assert.Equal(history.Select(m => (m.Seq, m.Id, m.Text)), events.Messages.Select(m => (m.Seq, m.Id, m.Text)));
        Assert.Equal(last.Seq, subscription.LastSeq);
    }

    [Fact]
    public async Task A_dropped_live_frame_is_repaired_from_history()
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

        proxy.DropNextMessageEvent();
        var lost = await Wait.For(bob.SendAsync(room, "lost on the way"), "bob sends the message whose frame is dropped");
        Assert.Equal(lost.Seq, await Wait.For(proxy.MessageEventDropped.Task, "the proxy drops the live frame"));
        var next = await Wait.For(bob.SendAsync(room, "next"), "bob sends the next message");
        await events.WaitForSeqAsync(next.Seq, "alice sees the jump and repairs it");

        Assert.Equal([first.Seq, lost.Seq, next.Seq], events.Seqs);
        Assert.Equal(["first", "lost on the way", "next"], events.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Presence_and_typing_events_reach_the_client_and_GetPresence_lists_the_room()
    {
        await using var server = await ServerHost.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var room = await ServerHost.NewRoomAsync(alice);
        var presence = new TaskCompletionSource<ChitChat.Contracts.PresenceEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var typing = new TaskCompletionSource<ChitChat.Contracts.TypingEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        alice.PresenceChanged += (_, p) =>
        {
            if (p.UserName == bob.User!.UserName)
            {
                presence.TrySetResult(p);
            }
        };
        alice.TypingReceived += (_, t) =>
        {
            if (t.UserName == bob.User!.UserName)
            {
                typing.TrySetResult(t);
            }
        };
        await Wait.For(alice.JoinRoomAsync(room), "alice joins");
        await Wait.For(bob.JoinRoomAsync(room), "bob joins");
        var online = await Wait.For(presence.Task, "alice sees bob come online");
        Assert.Equal((room, true), (online.Room, online.Online));
        await Wait.For(bob.TypingAsync(room), "bob types");
        Assert.Equal(room, (await Wait.For(typing.Task, "alice sees bob typing")).Room);
        var users = await Wait.For(alice.GetPresenceAsync(room), "presence list");
        Assert.Equal([alice.User!.UserName, bob.User!.UserName], users.Select(u => u.UserName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Joining_without_afterSeq_delivers_the_recent_messages_then_live_ones_and_LoadOlder_pages_back()
    {
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string?> { ["ChitChat:Hub:RecentMessagesOnJoin"] = "3" });
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice");
        var room = await ServerHost.NewRoomAsync(bob);
        for (var i = 1; i <= 8; i++)
        {
            await Wait.For(bob.SendAsync(room, $"old {i}"), "bob fills the room");
        }

        var subscription = await Wait.For(alice.JoinRoomAsync(room), "alice joins without afterSeq");
        var events = new EventCollector(subscription);
        var live = await Wait.For(bob.SendAsync(room, "live"), "bob sends live");
        await events.WaitForSeqAsync(live.Seq, "alice receives the live message");
        Assert.Equal([6L, 7, 8, 9], events.Seqs);

        var older = await Wait.For(subscription.LoadOlderAsync(limit: 4), "alice scrolls back");
        Assert.Equal([2L, 3, 4, 5], older.Select(m => m.Seq));
        var oldest = await Wait.For(subscription.LoadOlderAsync(limit: 4), "alice scrolls back further");
        Assert.Equal([1L], oldest.Select(m => m.Seq));
        Assert.Empty(await Wait.For(subscription.LoadOlderAsync(limit: 4), "start of the room"));

        await subscription.LeaveAsync();
        Assert.Empty(alice.Rooms);
    }
}
