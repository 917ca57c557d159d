using ChitChat.Redis.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using ChitChat.Contracts;

namespace ChitChat.Redis.Tests;

public sealed class RedisPresenceTrackerTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly RedisTestNodes _nodes = new(redis.ConnectionString);

    public ValueTask DisposeAsync() => _nodes.DisposeAsync();

    [Fact]
    public async Task A_user_joined_on_one_node_is_online_on_another_until_their_last_connection_leaves_anywhere()
    {
        var a = _nodes.Presence();
        var b = _nodes.Presence();
        var room = Room();
        var zoe = new OnlineUser(Guid.NewGuid(), "Zoë 🙂");

        Assert.True(await a.JoinAsync(room, "conn-a1", zoe).AsTask().WaitAsync(Timeout));
        Assert.Equal([zoe], await b.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));

        // A second connection of the same user on another node: not announced again.
        Assert.False(await b.JoinAsync(room, "conn-b1", zoe).AsTask().WaitAsync(Timeout));
        // The same connection joining again changes nothing.
        Assert.False(await a.JoinAsync(room, "conn-a1", zoe).AsTask().WaitAsync(Timeout));

        Assert.False(await a.LeaveAsync(room, "conn-a1", zoe).AsTask().WaitAsync(Timeout));
        Assert.Equal([zoe], await a.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));

        // Leaving twice or with an unknown connection is not an offline announcement.
        Assert.False(await a.LeaveAsync(room, "conn-a1", zoe).AsTask().WaitAsync(Timeout));
        Assert.False(await a.LeaveAsync(room, "conn-unknown", zoe).AsTask().WaitAsync(Timeout));

        Assert.True(await b.LeaveAsync(room, "conn-b1", zoe).AsTask().WaitAsync(Timeout));
        Assert.Empty(await a.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));
        Assert.Empty(await b.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));

        // Back online: announced again.
        Assert.True(await b.JoinAsync(room, "conn-b2", zoe).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Users_are_listed_once_each_ordered_by_name_and_rooms_are_separate()
    {
        var a = _nodes.Presence();
        var b = _nodes.Presence();
        var room = Room();
        var other = Room();
        var carol = new OnlineUser(Guid.NewGuid(), "carol");
        var alice = new OnlineUser(Guid.NewGuid(), "Alice");
        var bob = new OnlineUser(Guid.NewGuid(), "bob|pipe");

        Assert.True(await a.JoinAsync(room, "c1", carol).AsTask().WaitAsync(Timeout));
        Assert.True(await b.JoinAsync(room, "c2", alice).AsTask().WaitAsync(Timeout));
        Assert.True(await b.JoinAsync(room, "c3", bob).AsTask().WaitAsync(Timeout));
        Assert.False(await a.JoinAsync(room, "c4", alice).AsTask().WaitAsync(Timeout));
        Assert.True(await a.JoinAsync(other, "c5", alice).AsTask().WaitAsync(Timeout));

        Assert.Equal([alice, bob, carol], await a.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));
        Assert.Equal([alice], await b.GetOnlineAsync(other).AsTask().WaitAsync(Timeout));
        Assert.Empty(await b.GetOnlineAsync(Room()).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_users_of_a_node_that_stops_heartbeating_disappear_and_heartbeats_keep_the_others()
    {
        var presenceTimeout = TimeSpan.FromSeconds(2);
        var crashed = _nodes.Presence(presenceTimeout);
        var alive = _nodes.Presence(presenceTimeout, TimeSpan.FromMilliseconds(300));
        var observer = _nodes.Presence(presenceTimeout);
        var room = Room();
        var ghost = new OnlineUser(Guid.NewGuid(), "ghost");
        var steady = new OnlineUser(Guid.NewGuid(), "steady");

        var heartbeat = new RedisPresenceHeartbeatService(alive, _nodes.Options(presenceTimeout, TimeSpan.FromMilliseconds(300)), TimeProvider.System, NullLogger<RedisPresenceHeartbeatService>.Instance);
        await heartbeat.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        try
        {
            Assert.True(await crashed.JoinAsync(room, "ghost-conn", ghost).AsTask().WaitAsync(Timeout));
            Assert.True(await alive.JoinAsync(room, "steady-conn", steady).AsTask().WaitAsync(Timeout));
            Assert.Equal([ghost, steady], await observer.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));

            // The crashed node never heartbeats nor leaves: its user expires; the heartbeating node's user stays.
            await Poll.UntilAsync(
                async () => !(await observer.GetOnlineAsync(room)).Contains(ghost),
                "the user of the node that stopped heartbeating disappears");
            Assert.Equal([steady], await observer.GetOnlineAsync(room).AsTask().WaitAsync(Timeout));

            // The expired user coming back on a live node is announced online again.
            Assert.True(await alive.JoinAsync(room, "ghost-conn-2", ghost).AsTask().WaitAsync(Timeout));
        }
        finally
        {
            await heartbeat.StopAsync(CancellationToken.None).WaitAsync(Timeout);
            heartbeat.Dispose();
        }

        // Now that node stops heartbeating too: its users disappear as well.
        await Poll.UntilAsync(
            async () => (await observer.GetOnlineAsync(room)).Count == 0,
            "the users of the second node disappear after its heartbeat stopped");
    }

    [Fact]
    public async Task Presence_fails_with_a_typed_error_while_Redis_is_unreachable()
    {
        await using var down = RedisServerFixture.CreateUnstarted();
        await using var nodes = new RedisTestNodes(down.ConnectionString);
        var tracker = nodes.Presence();
        var error = await Assert.ThrowsAsync<ChatException>(() => tracker.JoinAsync(Room(), "c1", new OnlineUser(Guid.NewGuid(), "x")).AsTask().WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.Unavailable, error.Code);
    }

    [Fact]
    public async Task Heartbeats_restore_a_nodes_presence_after_Redis_restarts_empty()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await server.StartAsync().WaitAsync(Timeout);
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var options = nodes.Options(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(300));
        var node = new RedisPresenceTracker(nodes.Connection(options), options, NullLogger<RedisPresenceTracker>.Instance);
        var observer = nodes.Presence();
        var room = Room();
        var user = new OnlineUser(Guid.NewGuid(), "survivor");
        Assert.True(await node.JoinAsync(room, "conn", user).AsTask().WaitAsync(Timeout));

        using var heartbeat = new RedisPresenceHeartbeatService(node, options, TimeProvider.System, NullLogger<RedisPresenceHeartbeatService>.Instance);
        await heartbeat.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        try
        {
            await server.RestartAsync().WaitAsync(Timeout);
            await Poll.UntilAsync(
                async () =>
                {
                    try
                    {
                        return (await observer.GetOnlineAsync(room)).Contains(user);
                    }
                    catch (ChatException ex) when (ex.Code == ChatErrorCodes.Unavailable)
                    {
                        return false;
                    }
                },
                "the heartbeat restores the user's presence in the restarted (empty) Redis");
        }
        finally
        {
            await heartbeat.StopAsync(CancellationToken.None).WaitAsync(Timeout);
        }
    }

    private static string Room() => "presence-" + Guid.NewGuid().ToString("N")[..12];
}
