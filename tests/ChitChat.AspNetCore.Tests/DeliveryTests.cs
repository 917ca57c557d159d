using ChitChat.Contracts;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.AspNetCore.Tests;

public sealed class DeliveryTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    [Fact]
    public async Task Catch_up_after_a_forced_disconnect_returns_exactly_the_missed_messages_then_live_continues()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        var b = await bob.ConnectAsync();
        await b.JoinAsync(room, 0);

        for (var i = 1; i <= 3; i++)
        {
            await a.SendAsync(room, $"before {i}");
        }

        await b.WaitUntilAsync(c => c.Messages(room).Length == 3, "bob receives the first three");
        var lastSeen = b.Messages(room).Max(m => m.Seq);

        // Forced disconnect: the socket goes away without LeaveRoom.
        await b.Connection.StopAsync().WaitAsync(Timeouts.Default);
        for (var i = 1; i <= 4; i++)
        {
            await a.SendAsync(room, $"away {i}");
        }

        await using var back = await bob.ConnectAsync();
        var join = await back.JoinAsync(room, lastSeen);
        Assert.Equal([4L, 5, 6, 7], join.Missed.Select(m => m.Seq));
        Assert.Equal(["away 1", "away 2", "away 3", "away 4"], join.Missed.Select(m => m.Text));
        Assert.Equal(7, join.LastSeq);
        Assert.False(join.HasMore);

        await a.SendAsync(room, "after");
        await back.WaitUntilAsync(c => c.Messages(room).Length >= 1, "bob receives live messages after the catch-up");
        Assert.Equal([8L], back.Messages(room).Select(m => m.Seq));
        await b.DisposeAsync();
    }

    [Fact]
    public async Task Join_without_afterSeq_returns_recent_messages_and_hasMore_when_older_exist()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Hub:RecentMessagesOnJoin"] = "3", ["ChitChat:CatchUpLimit"] = "4" });
        var alice = await server.NewUserAsync();
        var room = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        for (var i = 0; i < 10; i++)
        {
            await a.SendAsync(room, $"m{i}");
        }

        await using var b = await alice.ConnectAsync();
        var recent = await b.JoinAsync(room);
        Assert.Equal([8L, 9, 10], recent.Missed.Select(m => m.Seq));
        Assert.True(recent.HasMore);
        Assert.Equal(10, recent.LastSeq);

        // With afterSeq the catch-up is capped (CatchUpLimit 4) and the client pages the rest.
        await using var c = await alice.ConnectAsync();
        var capped = await c.JoinAsync(room, 2);
        Assert.Equal([3L, 4, 5, 6], capped.Missed.Select(m => m.Seq));
        Assert.True(capped.HasMore);
        var rest = await c.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room, capped.LastSeq + 1, 6L, 500).WaitAsync(Timeouts.Default);
        Assert.Equal([7L, 8, 9, 10], rest.Select(m => m.Seq));
    }

    [Fact]
    public async Task Joining_while_many_messages_are_sent_concurrently_yields_exactly_one_to_N()
    {
        const int total = 300;
        var senders = new List<TestUser>();
        for (var i = 0; i < 3; i++)
        {
            senders.Add(await Server.NewUserAsync("sender"));
        }

        var reader = await Server.NewUserAsync("reader");
        var room = await Server.NewRoomAsync(senders[0]);
        var clients = new List<HubClient>();
        foreach (var sender in senders)
        {
            clients.Add(await sender.ConnectAsync());
        }

        await using var watcher = await reader.ConnectAsync();
        await using var joiner = await reader.ConnectAsync();
        try
        {
            // A watcher that is in the room from the start proves the sends themselves are complete and ordered.
            await watcher.JoinAsync(room, 0);
            var sent = 0;
            var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var sending = clients.Select(client => Task.Run(async () =>
            {
                while (true)
                {
                    var n = Interlocked.Increment(ref sent);
                    if (n > total)
                    {
                        return;
                    }

                    if (n == total / 3)
                    {
                        halfway.TrySetResult();
                    }

                    await client.SendAsync(room, $"msg {n}", $"race-{n}");
                }
            })).ToArray();

            // Join in the middle of the storm, from a seq the joiner "had" before.
            await halfway.Task.WaitAsync(Timeouts.Default);
            var join = await joiner.JoinAsync(room, 5);
            await Task.WhenAll(sending).WaitAsync(TimeSpan.FromMinutes(2));

            await joiner.WaitUntilAsync(c => c.Messages(room).Any(m => m.Seq == total), "the joiner receives the last message live");
            await watcher.WaitUntilAsync(c => c.Messages(room).Length >= total, "the watcher receives every message");

            var live = joiner.Messages(room).Select(m => m.Seq).ToArray();
            var union = join.Missed.Select(m => m.Seq).Concat(live).ToArray();
            Assert.True(join.Missed.All(m => m.Seq <= join.LastSeq), "missed messages never exceed the boundary");
            Assert.True(live.All(s => s > join.LastSeq), $"live messages start after the boundary {join.LastSeq}; first live {live.FirstOrDefault()}");
            Assert.Equal(Enumerable.Range(6, total - 5).Select(i => (long)i), union.Order());
            Assert.Equal(union.Length, union.Distinct().Count());
            Assert.Equal(live.Order(), live); // live events arrive in seq order
            Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), watcher.Messages(room).Select(m => m.Seq));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_gap_left_by_the_transport_is_filled_from_the_store_in_order()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        await a.SendAsync(room, "one");
        await a.WaitUntilAsync(c => c.Messages(room).Length == 1, "the first message arrives");

        // Simulate a transport that dropped seq 2 and 3: they are stored but never published.
        var store = Server.Services.GetRequiredService<IChatStore>();
        for (var i = 2; i <= 3; i++)
        {
            await store.Messages.AppendAsync(new NewMessage(Guid.CreateVersion7(), room, alice.Id, alice.UserName, $"dropped {i}", DateTimeOffset.UtcNow, null)).WaitAsync(Timeouts.Default);
        }

        var ack = await a.SendAsync(room, "four");
        Assert.Equal(4, ack.Seq);
        await a.WaitUntilAsync(c => c.Messages(room).Length == 4, "the gap is filled before seq 4");
        Assert.Equal([1L, 2, 3, 4], a.Messages(room).Select(m => m.Seq));
        Assert.Equal(["one", "dropped 2", "dropped 3", "four"], a.Messages(room).Select(m => m.Text));
    }

    [Fact]
    public async Task A_message_published_ahead_of_its_predecessor_is_held_and_delivered_in_order()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        await a.SendAsync(room, "one");
        await a.WaitUntilAsync(c => c.Messages(room).Length == 1, "the first message arrives");

        // Concurrent senders publish in the order their appends complete: seq 3 may be published before seq 2. These two
        // are published only (never stored), so a store read for the "gap" could not produce seq 2: only holding seq 3
        // until seq 2 arrives delivers both, in order.
        var transport = Server.Services.GetRequiredService<IChatTransport>();
        ChatMessage Live(long seq) => new(Guid.CreateVersion7(), room, seq, alice.Id, alice.UserName, $"live {seq}", DateTimeOffset.UtcNow, null, 1);
        await transport.PublishAsync(new MessagePosted(Live(3))).AsTask().WaitAsync(Timeouts.Default);
        await transport.PublishAsync(new MessagePosted(Live(2))).AsTask().WaitAsync(Timeouts.Default);

        await a.WaitUntilAsync(c => c.Messages(room).Length == 3, "the held seq 3 follows seq 2");
        Assert.Equal([1L, 2, 3], a.Messages(room).Select(m => m.Seq));
        Assert.Equal(["one", "live 2", "live 3"], a.Messages(room).Select(m => m.Text));
    }

    [Fact]
    public async Task A_dropped_tail_is_repaired_when_someone_joins()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        var store = Server.Services.GetRequiredService<IChatStore>();
        await store.Messages.AppendAsync(new NewMessage(Guid.CreateVersion7(), room, alice.Id, alice.UserName, "never published", DateTimeOffset.UtcNow, null)).WaitAsync(Timeouts.Default);

        await using var b = await alice.ConnectAsync();
        var join = await b.JoinAsync(room, 0);
        Assert.Equal(1, join.LastSeq);
        Assert.Equal("never published", Assert.Single(join.Missed).Text);
        await a.WaitUntilAsync(c => c.Messages(room).Length == 1, "the member already in the room gets the repaired tail live");
    }

    [Fact]
    public async Task A_stalled_client_does_not_delay_others()
    {
        var alice = await Server.NewUserAsync();
        var bob = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);

        // Bob's handler blocks: his client stops reading, so his socket backs up.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var stalled = bob.Server.Hub(() => Task.FromResult<string?>(bob.Token));
        stalled.On<MessageDto>("message", _ => release.Task.Wait());
        await stalled.StartAsync().WaitAsync(Timeouts.Default);
        await stalled.InvokeAsync<JoinRoomResult>("JoinRoom", room, 0L).WaitAsync(Timeouts.Default);

        var big = new string('z', 3900);
        for (var i = 0; i < 60; i++)
        {
            await a.SendAsync(room, big + i);
        }

        await a.WaitUntilAsync(c => c.Messages(room).Length == 60, "alice receives every message although bob is stalled");
        release.TrySetResult();
    }
}
