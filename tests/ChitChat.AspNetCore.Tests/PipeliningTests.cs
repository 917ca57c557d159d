using ChitChat.Contracts;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.InMemory;
using ChitChat.Presence;
using ChitChat.Storage;
using ChitChat.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChitChat.AspNetCore.Tests;

/// <summary>
/// A client that pipelines invocations (several in flight on one connection, the default allows 32 at once) gets its
/// messages numbered in the order it sent them, and its joins and leaves applied in order. Against a real SQLite file,
/// whose appends share group commits.
/// </summary>
public sealed class PipeliningTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chitchat-pipelining-").FullName;
    private ChitChatServer? _sqliteServer;

    /// <summary>Gets a node on a SQLite file in a temp directory (started on first use).</summary>
    private ChitChatServer SqliteServer => _sqliteServer ??= ChitChatServer.Start(new Dictionary<string, string?>
    {
        ["ChitChat:Store"] = "Sqlite",
        ["ChitChat:Sqlite:ConnectionString"] = $"Data Source={Path.Combine(_directory, "chat.db")}",
    });

    [Fact]
    public async Task Pipelined_sends_of_one_connection_are_numbered_in_send_order_and_delivered_in_it()
    {
        var alice = await SqliteServer.NewUserAsync("alice");
        var bob = await SqliteServer.NewUserAsync("bob");
        var room = await SqliteServer.NewRoomAsync(alice);
        await using var a1 = await alice.ConnectAsync();
        await using var a2 = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await b.JoinAsync(room, 0);

        // Three connections each send 150 messages without awaiting the acks; the sends of the three interleave in the store.
        const int perConnection = 150;
        var senders = new[] { (Client: a1, Name: "a1"), (Client: a2, Name: "a2"), (Client: b, Name: "b") };
        var acks = senders.Select(s => Enumerable.Range(0, perConnection)
            .Select(i => s.Client.Connection.InvokeAsync<SendMessageAck>("SendMessage", room, $"{s.Name} {i}", $"{s.Name}-{i}"))
            .ToArray()).ToArray();

        for (var c = 0; c < senders.Length; c++)
        {
            var seqs = (await Task.WhenAll(acks[c]).WaitAsync(Timeouts.Default)).Select(ack => ack.Seq).ToArray();
            Assert.True(seqs.SequenceEqual(seqs.Order()), $"{senders[c].Name}: acks are not in send order: {string.Join(',', seqs)}");
            Assert.Equal(perConnection, seqs.Distinct().Count());
        }

        const int total = perConnection * 3;
        await b.WaitUntilAsync(c => c.Messages(room).Length == total, "bob receives every message");
        var delivered = b.Messages(room);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), delivered.Select(m => m.Seq));
        foreach (var (_, name) in senders)
        {
            // Each sender's texts appear in the room's order exactly as sent.
            var texts = delivered.Where(m => m.ClientMessageId!.StartsWith(name + "-", StringComparison.Ordinal)).Select(m => m.Text);
            Assert.Equal(Enumerable.Range(0, perConnection).Select(i => $"{name} {i}"), texts);
        }
    }

    [Fact]
    public async Task Pipelined_leave_then_join_ends_joined_and_join_then_leave_ends_left()
    {
        var alice = await SqliteServer.NewUserAsync("alice");
        var room = await SqliteServer.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var other = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);

        for (var round = 0; round < 20; round++)
        {
            var leave = a.Connection.InvokeAsync("LeaveRoom", room);
            var join = a.Connection.InvokeAsync<JoinRoomResult>("JoinRoom", room, (long?)null);
            await Task.WhenAll(leave, join).WaitAsync(Timeouts.Default);
        }

        var ack = await other.SendAsync(room, "still here?");
        await a.WaitUntilAsync(c => c.Messages(room).Any(m => m.Seq == ack.Seq), "the connection is still a member");

        var join2 = a.Connection.InvokeAsync<JoinRoomResult>("JoinRoom", room, (long?)null);
        var leave2 = a.Connection.InvokeAsync("LeaveRoom", room);
        await Task.WhenAll(join2, leave2).WaitAsync(Timeouts.Default);

        // A member of the room after this message would get it; a sentinel in a second room proves delivery has caught up.
        var sentinelRoom = await SqliteServer.NewRoomAsync(alice, "sentinel");
        await a.JoinAsync(sentinelRoom, 0);
        var gone = await other.SendAsync(room, "gone?");
        var sentinel = await other.SendAsync(sentinelRoom, "sentinel");
        await a.WaitUntilAsync(c => c.Messages(sentinelRoom).Any(m => m.Seq == sentinel.Seq), "the sentinel arrives");
        Assert.DoesNotContain(a.Messages(room), m => m.Seq == gone.Seq);
    }

    [Fact]
    public async Task Pipelined_sends_keep_their_order_with_a_store_that_completes_appends_out_of_order()
    {
        // A store with round trips (like MongoDB) numbers an append when it completes, so concurrent appends of one
        // connection could overtake each other; the hub's per-connection SendOrder keeps them in send order.
        await using var server = ChitChatServer.Start(services: s =>
        {
            s.RemoveAll<IChatStore>();
            s.AddSingleton<IChatStore>(new JitteredStore(new InMemoryChatStore()));
        });
        var alice = await server.NewUserAsync("alice");
        var room = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();

        var acks = Enumerable.Range(0, 100).Select(i => a.Connection.InvokeAsync<SendMessageAck>("SendMessage", room, $"m{i}", $"k{i}")).ToArray();
        var seqs = (await Task.WhenAll(acks).WaitAsync(Timeouts.Default)).Select(ack => ack.Seq).ToArray();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), seqs);
    }

    [Fact]
    public async Task Pipelined_leave_then_join_leaves_the_user_online_even_when_leaving_is_slow()
    {
        // Leaving (presence, Redis in production) takes a while; the join pipelined behind it must not finish first and be undone.
        await using var server = ChitChatServer.Start(services: s =>
        {
            s.RemoveAll<IPresenceTracker>();
            s.AddSingleton<IPresenceTracker>(new SlowLeavePresence(new InMemoryPresenceTracker()));
        });
        var alice = await server.NewUserAsync("alice");
        var room = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);

        var leave = a.Connection.InvokeAsync("LeaveRoom", room);
        var join = a.Connection.InvokeAsync<JoinRoomResult>("JoinRoom", room, (long?)null);
        await Task.WhenAll(leave, join).WaitAsync(Timeouts.Default);

        var online = await a.Connection.InvokeAsync<List<PresenceUser>>("GetPresence", room).WaitAsync(Timeouts.Default);
        Assert.Contains(online, u => u.UserId == alice.Id);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sqliteServer is not null)
        {
            await _sqliteServer.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

/// <summary>Appends after a random 0–3 ms delay, numbering them when they complete (as a store with round trips does).</summary>
internal sealed class JitteredStore(InMemoryChatStore inner) : DelegatingChatStore(inner)
{
    public override string ProviderName => "jittered";

    // Numbered when the delayed append completes (the default BeginAppend: sequenced only when durable).
    public override PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default)
    {
        var durable = AppendAsync(message, cancellationToken);
        return new PendingAppend(durable, durable);
    }

    public override async Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default)
    {
        await Task.Delay(Random.Shared.Next(0, 4), cancellationToken);
        return await Inner.Messages.AppendAsync(message, cancellationToken);
    }
}

/// <summary>Presence whose leave takes 50 ms.</summary>
internal sealed class SlowLeavePresence(IPresenceTracker inner) : IPresenceTracker
{
    public ValueTask<bool> JoinAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default) =>
        inner.JoinAsync(room, connectionId, user, cancellationToken);

    public async ValueTask<bool> LeaveAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default)
    {
        await Task.Delay(50, cancellationToken);
        return await inner.LeaveAsync(room, connectionId, user, cancellationToken);
    }

    public ValueTask<IReadOnlyList<OnlineUser>> GetOnlineAsync(string room, CancellationToken cancellationToken = default) =>
        inner.GetOnlineAsync(room, cancellationToken);
}
