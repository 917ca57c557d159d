using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Faults.Tests.Infrastructure;
using ChitChat.Redis.Tests.Infrastructure;

namespace ChitChat.Faults.Tests;

/// <summary>
/// redis-server killed with SIGKILL and started again (empty: no persistence) while a room is quiet. Node A stores and
/// acknowledges messages during the outage (the store is separate from Redis) but their live events are lost on the way to
/// node B; after Redis is back, node B's delivery engine reconciles the room with the store (<c>TransportResumed</c>) and
/// delivers them to its clients without any new message being sent and without the clients reconnecting.
/// </summary>
public sealed class RedisCrashTests : IAsyncLifetime
{
    private const string Room = "quiet";
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    private readonly RedisServerFixture _redis = RedisServerFixture.CreateUnstarted();
    private readonly TempDir _dir = new();
    private readonly Cleanup _cleanup = new();

    public async ValueTask InitializeAsync() => await _redis.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _cleanup.DisposeAsync();

        await _redis.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Messages_stored_on_one_node_while_redis_was_down_reach_the_other_node_after_redis_restarts_without_a_new_message()
    {
        var database = Path.Combine(_dir.Path, "chitchat.db");
        var a = _cleanup.Track(await NodeProcess.StartWebAsync("node A", NodeProcess.WebSettings(database, _redis.ConnectionString)));
        var b = _cleanup.Track(await NodeProcess.StartWebAsync("node B", NodeProcess.WebSettings(database, _redis.ConnectionString)));
        await Chat.RegisterAsync(a.Address, "alice", "bob");
        var alice = _cleanup.Track(Chat.Client(a.Address, "alice"));
        var bob = _cleanup.Track(Chat.Client(b.Address, "bob"));
        var bobStates = new StateRecorder(bob);
        await Chat.ConnectAsync(alice, "connect alice to node A");
        await Chat.ConnectAsync(bob, "connect bob to node B");
        await Wait.For(alice.CreateRoomAsync(Room), "create the room");
        await Wait.For(alice.JoinRoomAsync(Room), "alice joins on node A");
        var received = new EventCollector(await Wait.For(bob.JoinRoomAsync(Room), "bob joins on node B"));
        var bobStatesBefore = bobStates.Changes.Count;

        // Redis carries A's events to B.
        var first = await Wait.For(alice.SendAsync(Room, "before the outage"), "send before the outage");
        await received.WaitForSeqAsync(first.Seq, "bob receives the message sent before the outage over Redis");

        _redis.Kill();
        foreach (var node in new[] { a, b })
        {
            await Poll.UntilAsync(async () => await Chat.HealthAsync(node.Address, "transport") == "Degraded", $"{node.Name} reports its transport Degraded after redis-server was killed", PhaseTimeout);
        }

        // Stored and acknowledged on node A during the outage; their live events never reach node B.
        var during = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            during.Add((await Wait.For(alice.SendAsync(Room, $"during the outage {i}"), $"send {i} during the outage")).Seq);
        }

        Assert.Equal([first.Seq], received.Seqs);

        await _redis.StartAsync();
        foreach (var node in new[] { a, b })
        {
            await Poll.UntilAsync(async () => await Chat.HealthAsync(node.Address, "transport") == "Healthy", $"{node.Name} reports its transport Healthy after redis-server restarted", PhaseTimeout);
        }

        // Nothing is sent any more: the resume path alone must deliver what bob missed.
        await Poll.UntilAsync(() => received.Seqs.Count > 0 && received.Seqs[^1] >= during[^1], $"bob receives seq {during[^1]} after Redis is back, without a new message (has [{string.Join(", ", received.Seqs)}])", PhaseTimeout);
        Assert.Equal([first.Seq, .. during], received.Seqs);
        Assert.Equal(["before the outage", "during the outage 0", "during the outage 1", "during the outage 2"], received.Messages.Select(m => m.Text));

        // Node B caught up on its own: bob's connection to node B never dropped, so his client did not re-join.
        Assert.Empty(bobStates.Changes.Skip(bobStatesBefore));
        Assert.False(a.HasExited || b.HasExited, $"a node exited:\n{a.Output}\n{b.Output}");
    }
}
