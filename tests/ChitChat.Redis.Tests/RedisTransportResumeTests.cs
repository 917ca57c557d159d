using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Transport;

namespace ChitChat.Redis.Tests;

/// <summary>
/// <see cref="TransportResumed"/> after Redis comes back: each test runs its own redis-server, killed with SIGKILL and
/// started again on the same port.
/// </summary>
public sealed class RedisTransportResumeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task After_a_crash_and_restart_every_room_with_local_subscribers_is_resumed_once_its_subscription_is_back()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await server.StartAsync().WaitAsync(Timeout);
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var a = await nodes.ConnectedTransportAsync();
        var b = await nodes.ConnectedTransportAsync();
        var shared = NewRoom();
        var onlyOnB = NewRoom();
        var sharedOnA = new EventRecorder();
        var sharedOnB = new EventRecorder();
        var onlyB = new EventRecorder();
        await using var s1 = await a.SubscribeAsync(shared, sharedOnA.Handle).AsTask().WaitAsync(Timeout);
        await using var s2 = await b.SubscribeAsync(shared, sharedOnB.Handle).AsTask().WaitAsync(Timeout);
        await using var s3 = await b.SubscribeAsync(onlyOnB, onlyB.Handle).AsTask().WaitAsync(Timeout);

        // Normal operation: the first event each subscriber sees is the published one, never a TransportResumed.
        await a.PublishAsync(EventRecorder.Typing(shared, "before")).AsTask().WaitAsync(Timeout);
        await a.PublishAsync(EventRecorder.Typing(onlyOnB, "before-b")).AsTask().WaitAsync(Timeout);
        await ExpectFirstAsync(sharedOnB, EventRecorder.Named("before"), "cross-node delivery before the crash");
        await ExpectFirstAsync(sharedOnA, EventRecorder.Named("before"), "local delivery before the crash");
        await ExpectFirstAsync(onlyB, EventRecorder.Named("before-b"), "cross-node delivery to the second room before the crash");

        server.Kill();
        await Poll.UntilAsync(() => a.Status == TransportStatus.Degraded && b.Status == TransportStatus.Degraded, "both nodes report Degraded after the crash");
        await a.PublishAsync(EventRecorder.Typing(shared, "lost")).AsTask().WaitAsync(Timeout); // reaches node A only
        await ExpectFirstAsync(sharedOnA, EventRecorder.Named("lost"), "local delivery while Redis is down");

        await server.RestartAsync().WaitAsync(Timeout);
        await sharedOnB.ExpectAsync(Resumed(shared), "TransportResumed for the shared room on node B after the restart");
        await onlyB.ExpectAsync(Resumed(onlyOnB), "TransportResumed for node B's own room after the restart");
        await sharedOnA.ExpectAsync(Resumed(shared), "TransportResumed for the shared room on node A after the restart");

        // Resumed means subscribed again: an event another node publishes now arrives, without probing.
        await Poll.UntilAsync(() => a.Status == TransportStatus.Healthy, "node A can publish again");
        await a.PublishAsync(EventRecorder.Typing(shared, "after")).AsTask().WaitAsync(Timeout);
        await sharedOnB.ExpectAsync(EventRecorder.Named("after"), "cross-node delivery right after node B was resumed");
        await Poll.UntilAsync(() => b.Status == TransportStatus.Healthy, "node B can publish again");
        await b.PublishAsync(EventRecorder.Typing(onlyOnB, "after-b")).AsTask().WaitAsync(Timeout);
        await onlyB.ExpectAsync(EventRecorder.Named("after-b"), "local delivery after the restart");
    }

    [Fact]
    public async Task A_room_subscribed_while_Redis_is_down_is_resumed_once_its_channel_is_subscribed()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var late = nodes.Transport();
        var room = NewRoom();
        var received = new EventRecorder();
        await using var subscription = await late.SubscribeAsync(room, received.Handle).AsTask().WaitAsync(Timeout);
        Assert.Equal(TransportStatus.Degraded, late.Status);
        await late.PublishAsync(EventRecorder.Typing(room, "local-only")).AsTask().WaitAsync(Timeout);
        await ExpectFirstAsync(received, EventRecorder.Named("local-only"), "local delivery while Redis was never reachable");

        await server.StartAsync().WaitAsync(Timeout);
        await received.ExpectAsync(Resumed(room), "TransportResumed once the room's channel is subscribed");
        Assert.Equal(TransportStatus.Healthy, late.Status);

        var other = await nodes.ConnectedTransportAsync();
        await other.PublishAsync(EventRecorder.Typing(room, "from-other")).AsTask().WaitAsync(Timeout);
        await received.ExpectAsync(EventRecorder.Named("from-other"), "cross-node delivery right after the room was resumed");
    }

    [Fact]
    public async Task A_published_TransportResumed_reaches_the_publishing_nodes_subscribers_only()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await server.StartAsync().WaitAsync(Timeout);
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var a = await nodes.ConnectedTransportAsync();
        var b = await nodes.ConnectedTransportAsync();
        var room = NewRoom();
        var onA = new EventRecorder();
        var onB = new EventRecorder();
        await using var s1 = await a.SubscribeAsync(room, onA.Handle).AsTask().WaitAsync(Timeout);
        await using var s2 = await b.SubscribeAsync(room, onB.Handle).AsTask().WaitAsync(Timeout);

        await a.PublishAsync(new TransportResumed(room)).AsTask().WaitAsync(Timeout);
        await a.PublishAsync(EventRecorder.Typing(room, "sentinel")).AsTask().WaitAsync(Timeout);

        await ExpectFirstAsync(onA, Resumed(room), "the local TransportResumed");
        await ExpectFirstAsync(onA, EventRecorder.Named("sentinel"), "the local sentinel");
        await ExpectFirstAsync(onB, EventRecorder.Named("sentinel"), "the remote sentinel, with no TransportResumed before it");
    }

    private static string NewRoom() => "resume-" + Guid.NewGuid().ToString("N")[..8];

    private static Func<RoomEvent, bool> Resumed(string room) => e => e is TransportResumed r && r.Room == room;

    /// <summary>Waits for the next event and asserts it matches: nothing else arrived before it.</summary>
    private static async Task ExpectFirstAsync(EventRecorder recorder, Func<RoomEvent, bool> match, string phase)
    {
        var next = await recorder.NextAsync(phase);
        Assert.True(match(next), $"Expected {phase}, but the next event was {next}.");
    }
}
