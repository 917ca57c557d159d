using ChitChat.Client.Tests.Infrastructure;

namespace ChitChat.Client.Tests;

/// <summary>Sends whose acknowledgement did not arrive are re-sent with the same clientMessageId, exactly once from the application's view.</summary>
public sealed class OutboxTests
{
    [Fact]
    public async Task A_lost_ack_is_resent_after_the_reconnect_with_the_same_clientMessageId_and_completes_with_the_original_ack()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = await WebSocketProxy.StartAsync(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address, webSocketsOnly: true);
        var room = await ServerHost.NewRoomAsync(bob);
        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins");
        var events = new EventCollector(subscription);
        var states = new StateRecorder(alice);

        proxy.DropNextSendCompletion();
        var send = alice.SendAsync(room, "is my ack lost?", "cmid-lost-ack");
        Assert.Equal("cmid-lost-ack", await Wait.For(proxy.SendCompletionDropped.Task, "the proxy drops the ack"));

        // The server stored it; the client still waits for the ack and keeps it in the outbox.
        var stored = (await Wait.HistoryAsync(bob, room)).Single(m => m.ClientMessageId == "cmid-lost-ack");
        Assert.False(send.IsCompleted);
        var pending = Assert.Single(alice.Outbox);
        Assert.Equal(("cmid-lost-ack", 1), (pending.ClientMessageId, pending.Attempts));

        proxy.Cut();
        proxy.Resume();
        var ack = await Wait.For(send, "the send completes after the reconnect");
        await states.WaitForAsync(s => s.IsReconnect, "alice reconnects");

        Assert.Equal((stored.Id, stored.Seq), (ack.Id, ack.Seq));
        Assert.Equal(2, proxy.SendCount("cmid-lost-ack")); // re-sent, with the same key
        Assert.Single(await Wait.HistoryAsync(bob, room), m => m.ClientMessageId == "cmid-lost-ack");
        Assert.Empty(alice.Outbox);
        var next = await Wait.For(bob.SendAsync(room, "next"), "bob sends");
        await events.WaitForSeqAsync(next.Seq, "alice's stream reaches bob's message");
        Assert.Equal([stored.Seq, next.Seq], events.Seqs);
    }

    [Fact]
    public async Task A_message_sent_while_the_server_is_unreachable_waits_in_the_outbox_and_is_stored_once_when_it_is_back()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = await WebSocketProxy.StartAsync(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address, webSocketsOnly: true);
        var room = await ServerHost.NewRoomAsync(bob);
        var states = new StateRecorder(alice);
        var outboxChanges = 0;
        alice.OutboxChanged += (_, _) => Interlocked.Increment(ref outboxChanges);

        proxy.Cut();
        await states.WaitForAsync(s => s.State == ChitChatConnectionState.Retrying, "the automatic reconnect gives up");
        var first = alice.SendAsync(room, "while down 1");
        var second = alice.SendAsync(room, "while down 2");
        Assert.Equal(["while down 1", "while down 2"], alice.Outbox.Select(p => p.Text));
        Assert.All(alice.Outbox, p => Assert.Equal(0, p.Attempts));
        Assert.False(first.IsCompleted || second.IsCompleted);

        proxy.Resume();
        var acks = await Wait.For(Task.WhenAll(first, second), "both sends complete once the server is reachable");
        Assert.Equal(acks[0].Seq + 1, acks[1].Seq); // in send order
        var history = await Wait.HistoryAsync(bob, room);
        Assert.Equal(["while down 1", "while down 2"], history.Select(m => m.Text));
        Assert.All(history, m => Assert.Equal(1, proxy.SendCount(m.ClientMessageId!)));
        Assert.Empty(alice.Outbox);
        Assert.True(outboxChanges >= 2);
    }

    [Fact]
    public async Task Several_sends_whose_acks_were_lost_are_each_stored_once_and_in_order()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = await WebSocketProxy.StartAsync(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address, webSocketsOnly: true);
        var room = await ServerHost.NewRoomAsync(bob);
        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins");
        var events = new EventCollector(subscription);
        proxy.DropSendCompletions(3);
        var sends = Enumerable.Range(1, 3).Select(i => alice.SendAsync(room, $"pipelined {i}")).ToList();
        var fourth = alice.SendAsync(room, "pipelined 4");
        await Wait.For(fourth, "the fourth send is acknowledged"); // so the three before it were processed by the server
        Assert.Equal(3, proxy.DroppedCompletions);
        Assert.Equal(3, alice.Outbox.Count);

        proxy.Cut();
        proxy.Resume();
        var acks = await Wait.For(Task.WhenAll(sends), "the three sends complete after the reconnect");
        var history = await Wait.HistoryAsync(bob, room);
        Assert.Equal(["pipelined 1", "pipelined 2", "pipelined 3", "pipelined 4"], history.Select(m => m.Text));
        Assert.Equal(history.Take(3).Select(m => m.Seq), acks.Select(a => a.Seq));
        Assert.All(history.Take(3), m => Assert.Equal(2, proxy.SendCount(m.ClientMessageId!)));
        await events.WaitForSeqAsync(history[^1].Seq, "alice's stream has all four");
        Assert.Equal(history.Select(m => m.Seq), events.Seqs);
    }

    [Fact]
    public async Task Cancelling_a_pending_send_removes_it_from_the_outbox()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = await WebSocketProxy.StartAsync(server.Address);
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address, webSocketsOnly: true);
        var states = new StateRecorder(alice);
        proxy.Cut();
        await states.WaitForAsync(s => s.State == ChitChatConnectionState.Reconnecting, "alice notices the cut");
        using var cts = new CancellationTokenSource();
        var send = alice.SendAsync("global", "never mind", cancellationToken: cts.Token);
        Assert.Single(alice.Outbox);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(Wait.Timeout));
        Assert.Empty(alice.Outbox);
    }
}
