using ChitChat.Contracts;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests;

public sealed class HubTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    [Fact]
    public async Task Two_users_chat_both_ways_with_seq_and_author_from_identity()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        Assert.Equal(0, (await a.JoinAsync(room, 0)).LastSeq);
        Assert.Equal(0, (await b.JoinAsync(room, 0)).LastSeq);

        var ack1 = await a.SendAsync(room, "hi bob", "a-1");
        var ack2 = await b.SendAsync(room, "hi alice", "b-1");
        Assert.Equal(1, ack1.Seq);
        Assert.Equal(2, ack2.Seq);

        await a.WaitUntilAsync(c => c.Messages(room).Length == 2, "alice receives both messages");
        await b.WaitUntilAsync(c => c.Messages(room).Length == 2, "bob receives both messages");
        foreach (var client in new[] { a, b })
        {
            var messages = client.Messages(room);
            Assert.Equal([1L, 2], messages.Select(m => m.Seq));
            Assert.Equal((alice.Id, alice.UserName, "hi bob", "a-1"), (messages[0].AuthorId, messages[0].AuthorName, messages[0].Text, messages[0].ClientMessageId));
            Assert.Equal((bob.Id, bob.UserName, "hi alice", "b-1"), (messages[1].AuthorId, messages[1].AuthorName, messages[1].Text, messages[1].ClientMessageId));
            Assert.Equal(ack1.Id, messages[0].Id);
            Assert.Equal(DateTimeKind.Utc, messages[0].SentAt.Kind);
        }
    }

    [Fact]
    public async Task A_client_cannot_spoof_the_author_extra_arguments_are_rejected()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);

        // There is no author parameter; passing one is a binding error, and nothing is stored.
        var error = await Assert.ThrowsAsync<HubException>(() => a.Connection.InvokeAsync<SendMessageAck>("SendMessage", room, "text", "c-1", Guid.NewGuid(), "admin").WaitAsync(Timeouts.Default));
        Assert.Contains("SendMessage", error.Message, StringComparison.Ordinal);
        var history = await a.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room, null, null, null).WaitAsync(Timeouts.Default);
        Assert.Empty(history);
        var ack = await a.SendAsync(room, "still works");
        Assert.Equal(1, ack.Seq);
    }

    [Fact]
    public async Task SendMessage_retry_returns_the_same_ack_and_stores_one_message()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        var first = await a.SendAsync(room, "once", "retry-1");
        var second = await a.SendAsync(room, "once", "retry-1");
        Assert.Equal(first, second);
        await a.WaitUntilAsync(c => c.Messages(room).Length == 1, "the one message arrives");
        var history = await a.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room, null, null, null).WaitAsync(Timeouts.Default);
        Assert.Single(history);

        // A third message proves no duplicate event of the retry was delivered in between.
        await a.SendAsync(room, "next", "retry-2");
        await a.WaitUntilAsync(c => c.Messages(room).Length >= 2, "the next message arrives");
        Assert.Equal([1L, 2], a.Messages(room).Select(m => m.Seq));
    }

    [Fact]
    public async Task GetHistory_pages_over_the_hub()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        for (var i = 0; i < 10; i++)
        {
            await a.SendAsync(room, $"m{i}");
        }

        async Task<long[]> Page(long? before, long? after, int? limit) =>
            (await a.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room, before, after, limit).WaitAsync(Timeouts.Default)).Select(m => m.Seq).ToArray();

        Assert.Equal(new long[] { 8L, 9, 10 }, await Page(null, null, 3));
        Assert.Equal(new long[] { 5L, 6, 7 }, await Page(8, null, 3));
        Assert.Equal(new long[] { 3L, 4 }, await Page(null, 2, 2));
        var error = await Assert.ThrowsAsync<HubException>(() => Page(null, null, 0));
        Assert.Equal("validation_failed", HubError.Code(error));
    }

    [Fact]
    public async Task Bad_input_gets_coded_errors_and_the_connection_keeps_working()
    {
        var alice = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);

        async Task<string> Error(Func<Task> call) => (await Assert.ThrowsAsync<HubException>(call)).Message;
        async Task<string> Code(Func<Task> call) => HubError.Code(await Assert.ThrowsAsync<HubException>(call));

        Assert.Equal("payload_too_large", await Code(() => a.SendAsync(room, new string('x', 4001))));
        Assert.Equal("validation_failed", await Code(() => a.SendAsync(room, "  ")));
        Assert.Equal("validation_failed", await Code(() => a.SendAsync(room, "bad\0char")));
        Assert.Equal("room_not_found", await Code(() => a.SendAsync("no-such-room-zz", "hi")));
        Assert.Equal("room_not_found", await Code(() => a.JoinAsync("no-such-room-zz", 0)));
        Assert.Equal("validation_failed", await Code(() => a.JoinAsync("Not A Slug!", 0)));
        Assert.Equal("validation_failed", await Code(() => a.JoinAsync(room, -1)));

        // Wrong argument types: a binding error for that invocation only.
        var wrongTypes = await Error(() => a.Connection.InvokeAsync<JoinRoomResult>("JoinRoom", room, "not-a-number").WaitAsync(Timeouts.Default));
        Assert.Contains("JoinRoom", wrongTypes, StringComparison.Ordinal);
        var unknownMethod = await Error(() => a.Connection.InvokeAsync("NoSuchMethod", 1).WaitAsync(Timeouts.Default));
        Assert.Contains("NoSuchMethod", unknownMethod, StringComparison.Ordinal);

        Assert.Equal(HubConnectionState.Connected, a.Connection.State);
        var ack = await a.SendAsync(room, "still here");
        Assert.Equal(1, ack.Seq);
        await a.WaitUntilAsync(c => c.Messages(room).Length == 1, "the good message arrives after the bad ones");
    }

    [Fact]
    public async Task A_huge_frame_closes_only_that_connection_and_neighbours_keep_receiving()
    {
        var alice = await Server.NewUserAsync();
        var bob = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await a.JoinAsync(room, 0);
        await b.JoinAsync(room, 0);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Connection.Closed += ex =>
        {
            closed.TrySetResult(ex);
            return Task.CompletedTask;
        };

        // 100 KB frame > ChitChat:Hub:MaximumReceiveMessageSize (32 KB): SignalR closes that connection with an error.
        _ = b.Connection.InvokeAsync<SendMessageAck>("SendMessage", room, new string('y', 100_000), "huge").ContinueWith(t => t.Exception, TaskScheduler.Default);
        var reason = await closed.Task.WaitAsync(Timeouts.Default);
        Assert.NotNull(reason);
        Assert.Contains("maximum message size", reason!.Message, StringComparison.OrdinalIgnoreCase);

        var ack = await a.SendAsync(room, "neighbour still served");
        await a.WaitUntilAsync(c => c.Messages(room).Any(m => m.Seq == ack.Seq), "the neighbour keeps receiving");
        Assert.Equal(1, ack.Seq); // the huge message was never stored

        await using var b2 = await bob.ConnectAsync();
        var join = await b2.JoinAsync(room, 0);
        Assert.Equal("neighbour still served", Assert.Single(join.Missed).Text);
    }

    [Fact]
    public async Task Presence_events_and_GetPresence_follow_joins_leaves_and_disconnects()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var room = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        var b = await bob.ConnectAsync();
        await b.JoinAsync(room, 0);

        await a.WaitUntilAsync(c => c.Presence(room).Any(p => p.UserId == bob.Id && p.Online), "alice sees bob come online");
        var online = await a.Connection.InvokeAsync<List<PresenceUser>>("GetPresence", room).WaitAsync(Timeouts.Default);
        Assert.Equal(new[] { alice.Id, bob.Id }.Order(), online.Select(u => u.UserId).Order());
        Assert.Equal(bob.UserName, online.Single(u => u.UserId == bob.Id).UserName);

        // A second connection of bob, then leaving it, keeps bob online; disconnecting the first takes him offline.
        await using (var b2 = await bob.ConnectAsync())
        {
            await b2.JoinAsync(room, 0);
            await b2.Connection.InvokeAsync("LeaveRoom", room).WaitAsync(Timeouts.Default);
        }

        Assert.Contains(bob.Id, (await a.Connection.InvokeAsync<List<PresenceUser>>("GetPresence", room).WaitAsync(Timeouts.Default)).Select(u => u.UserId));
        await b.DisposeAsync();
        await a.WaitUntilAsync(c => c.Presence(room).Any(p => p.UserId == bob.Id && !p.Online), "alice sees bob go offline on disconnect");
        var after = await a.Connection.InvokeAsync<List<PresenceUser>>("GetPresence", room).WaitAsync(Timeouts.Default);
        Assert.Equal([alice.Id], after.Select(u => u.UserId));
        Assert.Single(a.Presence(room), p => p.UserId == bob.Id && !p.Online);
    }

    [Fact]
    public async Task Typing_reaches_the_room_with_the_identity_of_the_typist()
    {
        var alice = await Server.NewUserAsync();
        var bob = await Server.NewUserAsync();
        var room = await Server.NewRoomAsync(alice);
        var other = await Server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await a.JoinAsync(room, 0);
        await b.JoinAsync(room, 0);
        await b.JoinAsync(other, 0);

        await a.Connection.InvokeAsync("Typing", room).WaitAsync(Timeouts.Default);
        await b.WaitUntilAsync(c => c.Typing(room).Length == 1, "bob sees alice typing");
        var typing = b.Typing(room)[0];
        Assert.Equal((room, alice.Id, alice.UserName), (typing.Room, typing.UserId, typing.UserName));
        Assert.Empty(b.Typing(other));
    }

    [Fact]
    public async Task A_connection_may_join_a_limited_number_of_rooms()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Hub:MaxRoomsPerConnection"] = "2" });
        var alice = await server.NewUserAsync();
        var r1 = await server.NewRoomAsync(alice);
        var r2 = await server.NewRoomAsync(alice);
        var r3 = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(r1, 0);
        await a.JoinAsync(r2, 0);
        await a.JoinAsync(r2, 0); // re-joining a joined room is not a new room
        var error = await Assert.ThrowsAsync<HubException>(() => a.JoinAsync(r3, 0));
        Assert.Equal("too_many_rooms", HubError.Code(error));
        await a.Connection.InvokeAsync("LeaveRoom", r1).WaitAsync(Timeouts.Default);
        await a.JoinAsync(r3, 0);
    }
}
