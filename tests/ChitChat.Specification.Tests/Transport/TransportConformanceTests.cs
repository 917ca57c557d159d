using System.Threading.Channels;
using ChitChat.Transport;

namespace ChitChat.Specification.Tests;

/// <summary>
/// The behaviour every <see cref="IChatTransport"/> must show. Derive and supply <see cref="CreateNodesAsync"/>: N transports
/// sharing one backend stand for N nodes (a single-node transport returns the same instance N times). Every wait has a
/// timeout that names the phase; "nothing arrives" is asserted by publishing a sentinel afterwards and checking that only
/// the sentinel arrives.
/// </summary>
public abstract class TransportConformanceTests : NodeSpecification<IChatTransport>
{
    private readonly List<IAsyncDisposable> _subscriptions = [];

    /// <inheritdoc />
    protected override async ValueTask DisposeTestAsync()
    {
        foreach (var subscription in _subscriptions)
        {
            await subscription.DisposeAsync();
        }
    }

    [Fact]
    public async Task Every_event_kind_arrives_with_its_fields_intact()
    {
        var (a, b) = await TwoNodesAsync();
        var room = NewRoom();
        var received = await SubscribeAsync(b, room);

        var message = new MessagePosted(new ChatMessage(
            Guid.CreateVersion7(), room, 42, Guid.NewGuid(), "Zoë 🙂",
            "héllo \"wörld\" 👋🏽 世界\n<b>&amp;</b>\t\\ \u200b end",
            new DateTimeOffset(2026, 11, 25, 3, 4, 5, 678, TimeSpan.Zero).AddTicks(9), "client-ü-1", 3));
        var presence = new PresenceChanged(room, Guid.NewGuid(), "Åsa", Online: true);
        var offline = new PresenceChanged(room, Guid.NewGuid(), "bob", Online: false);
        var typing = new UserTyping(room, Guid.NewGuid(), "Дмитрий");
        var noKey = new MessagePosted(message.Message with { ClientMessageId = null, Seq = 43 });

        foreach (var roomEvent in new RoomEvent[] { message, presence, offline, typing, noKey })
        {
            await a.PublishAsync(roomEvent).AsTask().WaitAsync(Timeout);
        }

        Assert.Equal(message, await received.NextAsync("the message event"));
        Assert.Equal(presence, await received.NextAsync("the online presence event"));
        Assert.Equal(offline, await received.NextAsync("the offline presence event"));
        Assert.Equal(typing, await received.NextAsync("the typing event"));
        Assert.Equal(noKey, await received.NextAsync("the message without idempotency key"));
    }

    [Fact]
    public async Task Nothing_arrives_after_unsubscribing()
    {
        var (a, b) = await TwoNodesAsync();
        var room = NewRoom();
        var leaving = new Recorder();
        var subscription = await b.SubscribeAsync(room, leaving.Handle).AsTask().WaitAsync(Timeout);
        var control = await SubscribeAsync(b, room);

        await a.PublishAsync(Typing(room, "before")).AsTask().WaitAsync(Timeout);
        Assert.Equal("before", Name(await leaving.NextAsync("the event before unsubscribing")));
        Assert.Equal("before", Name(await control.NextAsync("the control's event before unsubscribing")));

        await subscription.DisposeAsync().AsTask().WaitAsync(Timeout);
        await a.PublishAsync(Typing(room, "after")).AsTask().WaitAsync(Timeout);
        await a.PublishAsync(Typing(room, "sentinel")).AsTask().WaitAsync(Timeout);

        Assert.Equal("after", Name(await control.NextAsync("the control's event after unsubscribing")));
        Assert.Equal("sentinel", Name(await control.NextAsync("the sentinel")));
        Assert.Empty(leaving.Drain());
    }

    [Fact]
    public async Task Disposing_a_subscription_twice_is_harmless_and_the_room_can_be_subscribed_again()
    {
        var (a, b) = await TwoNodesAsync();
        var room = NewRoom();
        var first = await b.SubscribeAsync(room, new Recorder().Handle).AsTask().WaitAsync(Timeout);
        await first.DisposeAsync().AsTask().WaitAsync(Timeout);
        await first.DisposeAsync().AsTask().WaitAsync(Timeout);

        var again = await SubscribeAsync(b, room);
        await a.PublishAsync(Typing(room, "again")).AsTask().WaitAsync(Timeout);
        Assert.Equal("again", Name(await again.NextAsync("the event after subscribing the room again")));
    }

    [Fact]
    public async Task Rooms_are_isolated()
    {
        var (a, b) = await TwoNodesAsync();
        var roomA = NewRoom();
        var roomB = NewRoom();
        var inA = await SubscribeAsync(b, roomA);
        var inB = await SubscribeAsync(b, roomB);

        await a.PublishAsync(Typing(roomA, "for-a")).AsTask().WaitAsync(Timeout);
        Assert.Equal("for-a", Name(await inA.NextAsync("the event of room A")));

        await a.PublishAsync(Typing(roomB, "for-b")).AsTask().WaitAsync(Timeout);
        var first = await inB.NextAsync("the event of room B");
        Assert.Equal("for-b", Name(first));
        Assert.Equal(roomB, first.Room);
        Assert.Empty(inB.Drain());
        Assert.Empty(inA.Drain());
    }

    [Fact]
    public async Task Several_subscribers_on_one_node_each_receive_an_event_once()
    {
        var (a, b) = await TwoNodesAsync();
        var room = NewRoom();
        var recorders = new List<Recorder>();
        for (var i = 0; i < 3; i++)
        {
            recorders.Add(await SubscribeAsync(b, room));
        }

        await a.PublishAsync(Typing(room, "once")).AsTask().WaitAsync(Timeout);
        await a.PublishAsync(Typing(room, "sentinel")).AsTask().WaitAsync(Timeout);

        foreach (var recorder in recorders)
        {
            Assert.Equal("once", Name(await recorder.NextAsync("the event on every subscriber")));
            Assert.Equal("sentinel", Name(await recorder.NextAsync("the sentinel on every subscriber")));
            Assert.Empty(recorder.Drain());
        }
    }

    [Fact]
    public async Task An_event_reaches_every_node_exactly_once_including_the_publishers_own()
    {
        var nodes = await CreateTrackedNodesAsync(3);
        var room = NewRoom();
        var recorders = new List<Recorder>();
        foreach (var node in nodes)
        {
            recorders.Add(await SubscribeAsync(node, room));
        }

        await nodes[0].PublishAsync(Typing(room, "everywhere")).AsTask().WaitAsync(Timeout);
        await nodes[0].PublishAsync(Typing(room, "sentinel")).AsTask().WaitAsync(Timeout);

        // A single-node transport hands the same instance for every node: each of its subscribers still gets one copy.
        for (var i = 0; i < recorders.Count; i++)
        {
            Assert.Equal("everywhere", Name(await recorders[i].NextAsync($"the event on node {i}")));
            Assert.Equal("sentinel", Name(await recorders[i].NextAsync($"the sentinel on node {i}")));
            Assert.Empty(recorders[i].Drain());
        }
    }

    [Fact]
    public async Task Events_from_one_publisher_keep_their_order_in_a_room()
    {
        var (a, b) = await TwoNodesAsync();
        var room = NewRoom();
        var remote = await SubscribeAsync(b, room);
        var local = await SubscribeAsync(a, room);
        const int Count = 200;

        for (var i = 1; i <= Count; i++)
        {
            await a.PublishAsync(Typing(room, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).AsTask().WaitAsync(Timeout);
        }

        foreach (var (recorder, where) in new[] { (remote, "remote"), (local, "local") })
        {
            for (var i = 1; i <= Count; i++)
            {
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Name(await recorder.NextAsync($"{where} event {i}")));
            }
        }
    }

    [Fact]
    public async Task A_throwing_handler_does_not_stop_the_others()
    {
        var (a, b) = await TwoNodesAsync();
        var room = NewRoom();
        var throwing = 0;
        foreach (var node in new[] { a, b }.Distinct())
        {
            _subscriptions.Add(await node.SubscribeAsync(room, (_, _) =>
            {
                Interlocked.Increment(ref throwing);
                throw new InvalidOperationException("A broken subscriber.");
            }).AsTask().WaitAsync(Timeout));
        }

        var remote = await SubscribeAsync(b, room);
        var local = await SubscribeAsync(a, room);

        await a.PublishAsync(Typing(room, "first")).AsTask().WaitAsync(Timeout);
        await a.PublishAsync(Typing(room, "second")).AsTask().WaitAsync(Timeout);

        Assert.Equal("first", Name(await remote.NextAsync("the first event after a handler threw")));
        Assert.Equal("second", Name(await remote.NextAsync("the second event after a handler threw")));
        Assert.Equal("first", Name(await local.NextAsync("the first local event after a handler threw")));
        Assert.Equal("second", Name(await local.NextAsync("the second local event after a handler threw")));
        Assert.True(Volatile.Read(ref throwing) >= 2, "The throwing handler was called.");
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected()
    {
        var (a, _) = await TwoNodesAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => a.SubscribeAsync("", new Recorder().Handle).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentNullException>(() => a.SubscribeAsync("room", null!).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentNullException>(() => a.PublishAsync(null!).AsTask());
        Assert.False(string.IsNullOrWhiteSpace(a.Name));
    }

    /// <summary>Creates a unique room name so that tests sharing a backend never see each other's events.</summary>
    /// <returns>The room name.</returns>
    protected static string NewRoom() => "conf-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Creates a typing event whose user name identifies it.</summary>
    /// <param name="room">The room.</param>
    /// <param name="name">The identifying name.</param>
    /// <returns>The event.</returns>
    protected static UserTyping Typing(string room, string name) => new(room, Guid.NewGuid(), name);

    /// <summary>Gets the identifying name of an event created by <see cref="Typing"/>.</summary>
    /// <param name="roomEvent">The event.</param>
    /// <returns>The name.</returns>
    protected static string Name(RoomEvent roomEvent) => Assert.IsType<UserTyping>(roomEvent).UserName;

    /// <summary>Subscribes a recorder and remembers the subscription for disposal.</summary>
    /// <param name="node">The transport.</param>
    /// <param name="room">The room.</param>
    /// <returns>The recorder.</returns>
    protected async Task<Recorder> SubscribeAsync(IChatTransport node, string room)
    {
        ArgumentNullException.ThrowIfNull(node);
        var recorder = new Recorder();
        _subscriptions.Add(await node.SubscribeAsync(room, recorder.Handle).AsTask().WaitAsync(Timeout));
        return recorder;
    }

    private async Task<(IChatTransport A, IChatTransport B)> TwoNodesAsync()
    {
        var nodes = await CreateTrackedNodesAsync(2);
        return (nodes[0], nodes[1]);
    }

    /// <summary>Records the events a subscription receives and hands them out in order.</summary>
    protected sealed class Recorder
    {
        private readonly Channel<RoomEvent> _events = Channel.CreateUnbounded<RoomEvent>();

        /// <summary>The handler to subscribe.</summary>
        /// <param name="roomEvent">The event.</param>
        /// <param name="cancellationToken">Ignored.</param>
        /// <returns>A completed task.</returns>
        public ValueTask Handle(RoomEvent roomEvent, CancellationToken cancellationToken)
        {
            _events.Writer.TryWrite(roomEvent);
            return ValueTask.CompletedTask;
        }

        /// <summary>Waits for the next event.</summary>
        /// <param name="phase">What is awaited, for the failure message.</param>
        /// <returns>The event.</returns>
        public async Task<RoomEvent> NextAsync(string phase)
        {
            try
            {
                return await _events.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"Timed out after {Timeout.TotalSeconds:0} s waiting for {phase}.", ex);
            }
        }

        /// <summary>Takes every event received so far without waiting.</summary>
        /// <returns>The events.</returns>
        public IReadOnlyList<RoomEvent> Drain()
        {
            var list = new List<RoomEvent>();
            while (_events.Reader.TryRead(out var roomEvent))
            {
                list.Add(roomEvent);
            }

            return list;
        }
    }
}
