using System.Collections.Concurrent;
using System.Threading.Channels;
using ChitChat.Delivery;
using ChitChat.InMemory;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ChitChat.Contracts;

namespace ChitChat.Specification.Tests;

/// <summary>
/// The behaviour every <see cref="DeliveryEngine"/> shows on every transport. Derive and supply
/// <see cref="CreateNodesAsync"/> (N transports sharing one backend stand for N nodes). Each node gets its own engine,
/// built by <c>AddChitChat</c> over its transport; all nodes share one store (the primary) and one fake clock, which only
/// the tests advance. Messages are "sent" as the message sender does: appended to the store, then published on the sending
/// node's transport, through a wrapper that can lose or reorder publications and report <see cref="TransportResumed"/>.
/// "Nothing else arrives" is asserted with a sentinel delivered after the thing that must not arrive.
/// </summary>
public abstract class DeliveryEngineSpecification : NodeSpecification<IChatTransport>
{
    private readonly List<ServiceProvider> _providers = [];

    /// <summary>Gets the store every node shares.</summary>
    protected IChatStore Store { get; } = new InMemoryChatStore();

    /// <summary>Gets the clock every node shares; it moves only when a test advances it.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    /// <inheritdoc />
    protected override async ValueTask DisposeTestAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_join_returns_what_was_missed_and_then_every_later_message_live_once_in_order()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        for (var i = 1; i <= 5; i++)
        {
            await node.SendAsync(room, $"m{i}");
        }

        var alice = node.Connect("alice");
        var join = await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 2)).WaitAsync(Timeout);
        Assert.Equal(5, join.LastSeq);
        Assert.Equal(new long[] { 3, 4, 5 }, join.Missed.Select(m => m.Seq));
        Assert.False(join.HasMore);

        for (var i = 6; i <= 8; i++)
        {
            await node.SendAsync(room, $"m{i}");
        }

        Assert.Equal(new long[] { 6, 7, 8 }, await alice.NextSeqsAsync(room, 3));
    }

    [Fact]
    public async Task A_join_without_a_position_returns_the_latest_messages_and_whether_older_ones_exist()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        for (var i = 1; i <= 7; i++)
        {
            await node.SendAsync(room, $"m{i}");
        }

        var join = await node.Engine.JoinAsync(node.Connect("a").Connection, new RoomJoinRequest(RoomName.Parse(room), null, 3)).WaitAsync(Timeout);
        Assert.Equal(new long[] { 5, 6, 7 }, join.Missed.Select(m => m.Seq));
        Assert.True(join.HasMore);

        var all = await node.Engine.JoinAsync(node.Connect("b").Connection, new RoomJoinRequest(RoomName.Parse(room), null, 50)).WaitAsync(Timeout);
        Assert.Equal(7, all.Missed.Count);
        Assert.False(all.HasMore);
    }

    [Fact]
    public async Task A_capped_catch_up_says_there_is_more()
    {
        var node = (await NodesAsync(1, o => o.CatchUpLimit = 4))[0];
        var room = await NewRoomAsync();
        for (var i = 1; i <= 10; i++)
        {
            await node.SendAsync(room, $"m{i}");
        }

        var join = await node.Engine.JoinAsync(node.Connect("a").Connection, new RoomJoinRequest(RoomName.Parse(room), 1)).WaitAsync(Timeout);
        Assert.Equal(10, join.LastSeq);
        Assert.Equal(new long[] { 2, 3, 4, 5 }, join.Missed.Select(m => m.Seq));
        Assert.True(join.HasMore);
    }

    [Fact]
    public async Task Joins_racing_concurrent_sends_split_the_room_exactly_at_their_boundary()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        await nodes[0].SendAsync(room, "first");
        const int total = 200;

        // Senders on both nodes keep sending while connections join on both nodes at different moments.
        var sending = Task.Run(async () =>
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < (total - 1) / 4 + 1; i++)
                {
                    await nodes[w % 2].SendAsync(room, $"w{w} {i}");
                }
            })));
        });
        var clients = new List<(TestClient Client, RoomJoin Join)>();
        for (var i = 0; i < 6; i++)
        {
            var client = nodes[i % 2].Connect($"user{i}");
            clients.Add((client, await nodes[i % 2].Engine.JoinAsync(client.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout)));
        }

        await sending.WaitAsync(Timeout);
        var last = await Store.Messages.GetLastSeqAsync(room).WaitAsync(Timeout);
        foreach (var (client, join) in clients)
        {
            var live = await client.NextSeqsAsync(room, (int)(last - join.LastSeq));
            var seen = join.Missed.Select(m => m.Seq).Concat(live).ToArray();
            Assert.Equal(Enumerable.Range(1, (int)last).Select(s => (long)s), seen);
        }
    }

    [Fact]
    public async Task Messages_published_out_of_order_are_delivered_in_seq_order_and_duplicates_once()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        var m1 = await node.AppendAsync(room, "one");
        var m2 = await node.AppendAsync(room, "two");
        var m3 = await node.AppendAsync(room, "three");
        await node.PublishAsync(m3);
        await node.PublishAsync(m2);
        await node.PublishAsync(m1);
        await node.PublishAsync(m2);
        await node.PublishAsync(m1);
        await node.SendAsync(room, "four");

        Assert.Equal(new long[] { 1, 2, 3, 4 }, await alice.NextSeqsAsync(room, 4));
        await alice.AssertNothingBeforeSentinelAsync(node, room);
    }

    [Fact]
    public async Task A_lost_message_is_held_for_the_reorder_window_then_filled_from_the_store()
    {
        var node = (await NodesAsync(1, delivery: o => o.ReorderWindow = TimeSpan.FromSeconds(5)))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        await node.SendAsync(room, "one");
        node.Transport.DropNext(1);
        await node.SendAsync(room, "two (lost)");
        await node.SendAsync(room, "three");
        Assert.Equal(new long[] { 1 }, await alice.NextSeqsAsync(room, 1));

        // Three is held behind the gap: a typing event published after it overtakes it.
        await alice.AssertNothingBeforeSentinelAsync(node, room);

        Time.Advance(TimeSpan.FromSeconds(5));
        var filled = await alice.NextSeqsAsync(room, 2);
        Assert.Equal(new long[] { 2, 3 }, filled);
    }

    [Fact]
    public async Task When_the_transport_resumes_a_quiet_room_converges_without_a_new_message()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var bob = nodes[1].Connect("bob");
        await nodes[1].Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[0].SendAsync(room, "before");
        Assert.Equal(new long[] { 1 }, await bob.NextSeqsAsync(room, 1));

        // The outage: node 0's publications never reach anyone; the room then goes quiet.
        nodes[0].Transport.DropNext(3);
        for (var i = 0; i < 3; i++)
        {
            await nodes[0].SendAsync(room, $"during {i}");
        }

        await nodes[1].Transport.RaiseResumedAsync(room);
        Assert.Equal(new long[] { 2, 3, 4 }, await bob.NextSeqsAsync(room, 3));
        await bob.AssertNothingBeforeSentinelAsync(nodes[1], room);
    }

    [Fact]
    public async Task Every_member_on_every_node_receives_each_message_exactly_once()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var clients = new List<TestClient>();
        for (var i = 0; i < 4; i++)
        {
            var client = nodes[i % 2].Connect($"u{i}");
            await nodes[i % 2].Engine.JoinAsync(client.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
            clients.Add(client);
        }

        for (var i = 0; i < 20; i++)
        {
            await nodes[i % 2].SendAsync(room, $"m{i}");
        }

        foreach (var client in clients)
        {
            Assert.Equal(Enumerable.Range(1, 20).Select(s => (long)s), await client.NextSeqsAsync(room, 20));
            await client.AssertNothingBeforeSentinelAsync(nodes[0], room);
        }
    }

    [Fact]
    public async Task A_connection_that_left_receives_nothing_more_and_the_last_leave_drops_the_rooms_state()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        var bob = node.Connect("bob");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await node.Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        Assert.Equal(2, node.Engine.CountLocalMembers(room));

        await node.Engine.LeaveAsync(alice.Connection, RoomName.Parse(room)).WaitAsync(Timeout);
        Assert.Empty(alice.Connection.Rooms);
        await node.SendAsync(room, "after alice left");
        Assert.Equal(new long[] { 1 }, await bob.NextSeqsAsync(room, 1));
        await node.Engine.LeaveAsync(alice.Connection, RoomName.Parse(room)).WaitAsync(Timeout); // leaving twice changes nothing

        await node.Engine.LeaveAsync(bob.Connection, RoomName.Parse(room)).WaitAsync(Timeout);
        Assert.Equal(0, node.Engine.CountLocalMembers(room));

        // A later join starts fresh and still splits the room exactly.
        await node.SendAsync(room, "while nobody was here");
        var again = await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        Assert.Equal(new long[] { 1, 2 }, again.Missed.Select(m => m.Seq));
        await node.SendAsync(room, "live again");
        Assert.Equal(new long[] { 3 }, await alice.NextSeqsAsync(room, 1));
        Assert.True(alice.Received(room).All(e => e is not MessagePosted p || p.Message.Seq == 3), "alice received a message of the time she was out of the room");
    }

    [Fact]
    public async Task Presence_is_announced_on_the_first_join_and_the_last_leave_on_every_node()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var watcher = nodes[1].Connect("watcher");
        await nodes[1].Engine.JoinAsync(watcher.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        var first = nodes[0].Connect("alice");
        var second = nodes[0].Connect("alice", first.Connection.User.UserId);
        await nodes[0].Engine.JoinAsync(first.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        var online = await watcher.NextPresenceOfAsync(room, "alice");
        Assert.True(online.Online);
        Assert.Equal("alice", online.UserName);

        await nodes[0].Engine.JoinAsync(second.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[0].Engine.LeaveAsync(first.Connection, RoomName.Parse(room)).WaitAsync(Timeout);
        await nodes[0].Engine.DisconnectAsync(second.Connection).WaitAsync(Timeout);
        var offline = await watcher.NextPresenceOfAsync(room, "alice");
        Assert.False(offline.Online);
        Assert.Equal(first.Connection.User.UserId, offline.UserId);
    }

    [Fact]
    public async Task A_disconnected_connection_leaves_every_room_and_cannot_join_again()
    {
        var node = (await NodesAsync(1))[0];
        var rooms = new[] { await NewRoomAsync(), await NewRoomAsync() };
        var alice = node.Connect("alice");
        foreach (var room in rooms)
        {
            await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        }

        await node.Engine.DisconnectAsync(alice.Connection).WaitAsync(Timeout);
        Assert.All(rooms, r => Assert.Equal(0, node.Engine.CountLocalMembers(r)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(rooms[0]), 0)).WaitAsync(Timeout));
        Assert.Equal(0, node.Engine.CountLocalMembers(rooms[0]));
    }

    [Fact]
    public async Task Bad_joins_are_typed_errors_that_change_nothing()
    {
        var node = (await NodesAsync(1))[0];
        var rooms = new[] { await NewRoomAsync(), await NewRoomAsync(), await NewRoomAsync() };
        var alice = node.Connect("alice", maxRooms: 2);

        var negative = await Assert.ThrowsAsync<ChatException>(() => node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(rooms[0]), -1)).WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.ValidationFailed, negative.Code);
        Assert.Equal(0, node.Engine.CountLocalMembers(rooms[0]));

        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(rooms[0]), 0)).WaitAsync(Timeout);
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(rooms[1]), 0)).WaitAsync(Timeout);
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(rooms[1]), 0)).WaitAsync(Timeout); // a re-join is not a new room
        var tooMany = await Assert.ThrowsAsync<ChatException>(() => node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(rooms[2]), 0)).WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.TooManyRooms, tooMany.Code);
        Assert.Equal(0, node.Engine.CountLocalMembers(rooms[2]));
        Assert.Equal(1, node.Engine.CountLocalMembers(rooms[1]));
        Assert.Equal(2, alice.Connection.Rooms.Count);
    }

    [Fact]
    public async Task A_removal_mid_stream_takes_the_users_connections_out_of_the_room_at_once_and_tells_the_others()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        var bob = node.Connect("bob");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await node.Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        const int total = 60;
        var removal = new MembershipChanged(room, bob.Connection.User.UserId, "bob", MemberRole.Member, MemberChange.Removed, Reason: "spam");
        await SendWhileAsync(node, room, total, () => node.Transport.PublishAsync(removal).AsTask());

        await AssertRemovedMidStreamAsync(node, room, total, alice, removal, [bob]);
        Assert.Empty(bob.Connection.Rooms);
        Assert.Equal(1, node.Engine.CountLocalMembers(room));
    }

    [Fact]
    public async Task A_removal_published_on_one_node_takes_the_user_out_of_the_room_on_another_mid_stream()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var alice = nodes[0].Connect("alice");
        var carol = nodes[1].Connect("carol");
        var bob = nodes[1].Connect("bob");
        await nodes[0].Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[1].Engine.JoinAsync(carol.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[1].Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        // The messages and the removal are published on node 0; bob is connected to node 1 (with carol, who stays).
        const int total = 60;
        var ban = new MembershipChanged(room, bob.Connection.User.UserId, "bob", MemberRole.Member, MemberChange.Banned);
        await SendWhileAsync(nodes[0], room, total, () => nodes[0].Transport.PublishAsync(ban).AsTask());

        await AssertRemovedMidStreamAsync(nodes[1], room, total, carol, ban, [bob], "banned");
        var member = Assert.Single(await alice.NextSeqsAndMemberEventsAsync(room, total, 1), e => e is MembershipChanged);
        Assert.Equal(ban, member);
        Assert.Equal(1, nodes[1].Engine.CountLocalMembers(room));
    }

    [Fact]
    public async Task A_removed_users_every_connection_leaves_and_the_user_goes_offline_in_the_room()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var watcher = nodes[0].Connect("watcher");
        await nodes[0].Engine.JoinAsync(watcher.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        var first = nodes[1].Connect("bob");
        var second = nodes[1].Connect("bob", first.Connection.User.UserId);
        var other = await NewRoomAsync();
        await nodes[1].Engine.JoinAsync(first.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[1].Engine.JoinAsync(second.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[1].Engine.JoinAsync(second.Connection, new RoomJoinRequest(RoomName.Parse(other), 0)).WaitAsync(Timeout);
        Assert.True((await watcher.NextPresenceOfAsync(room, "bob")).Online);

        await nodes[0].Transport.PublishAsync(new MembershipChanged(room, first.Connection.User.UserId, "bob", MemberRole.Member, MemberChange.Removed)).AsTask().WaitAsync(Timeout);

        foreach (var connection in new[] { first, second })
        {
            var removed = Assert.IsType<ConnectionRemoved>(await connection.NextNonPresenceAsync(room));
            Assert.Equal("removed", removed.Reason);
        }

        var offline = await watcher.NextPresenceOfAsync(room, "bob");
        Assert.False(offline.Online);
        Assert.Equal(0, nodes[1].Engine.CountLocalMembers(room));
        Assert.Empty(first.Connection.Rooms);
        Assert.Equal(new[] { other }, second.Connection.Rooms);

        // The connections stay usable: the other room still reaches the second one, and a later join (say, after being
        // added again) starts fresh.
        await nodes[0].SendAsync(other, "elsewhere");
        Assert.Equal(new long[] { 1 }, await second.NextSeqsAsync(other, 1));
        await nodes[0].SendAsync(room, "while bob was out");
        var again = await nodes[1].Engine.JoinAsync(first.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        Assert.Equal(new long[] { 1 }, again.Missed.Select(m => m.Seq));
        await nodes[0].SendAsync(room, "bob is back");
        Assert.Equal(new long[] { 2 }, await first.NextSeqsAsync(room, 1));
        Assert.True((await watcher.NextPresenceOfAsync(room, "bob")).Online);
        await second.AssertNothingBeforeSentinelAsync(nodes[1], other);
        Assert.DoesNotContain(second.Received(room), e => e is MessagePosted { Message.Seq: 2 });
    }

    [Fact]
    public async Task Added_role_and_mute_changes_deliver_the_member_event_and_remove_nobody()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var alice = nodes[0].Connect("alice");
        var bob = nodes[1].Connect("bob");
        await nodes[0].Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await nodes[1].Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        var bobId = bob.Connection.User.UserId;
        MembershipChanged[] changes =
        [
            new(room, Guid.NewGuid(), "carol", MemberRole.Member, MemberChange.Added),
            new(room, bobId, "bob", MemberRole.Moderator, MemberChange.Role),
            new(room, bobId, "bob", MemberRole.Moderator, MemberChange.Muted, Time.GetUtcNow().AddMinutes(5)),
        ];
        foreach (var change in changes)
        {
            await nodes[0].Transport.PublishAsync(change).AsTask().WaitAsync(Timeout);
        }

        await nodes[0].SendAsync(room, "still here");
        foreach (var client in new[] { alice, bob })
        {
            var received = await client.NextSeqsAndMemberEventsAsync(room, 1, changes.Length);
            Assert.Equal(changes.Cast<object>().Append(typeof(MessagePosted)), received.Select(e => e is MessagePosted ? typeof(MessagePosted) : (object)e));
            Assert.DoesNotContain(client.Received(room), e => e is ConnectionRemoved);
        }

        Assert.Equal(1, nodes[1].Engine.CountLocalMembers(room));
        Assert.Single(bob.Connection.Rooms);
    }

    [Fact]
    public async Task A_join_queued_behind_a_removal_of_its_user_fails_and_does_not_bring_the_connection_back()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        var bob = node.Connect("bob");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        await node.Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        // Hold the room's pump inside a join (its sink's add waits for the gate), queue the removal and then bob's second
        // join of the room behind it: the pump handles them in that order once the gate opens.
        var gate = new GatedSink(alice.Sink);
        var held = new ClientConnection("held-" + Guid.NewGuid().ToString("N"), new ChatIdentity(Guid.NewGuid(), "held"), gate);
        var holding = node.Engine.JoinAsync(held, new RoomJoinRequest(RoomName.Parse(room), 0));
        await gate.Entered.Task.WaitAsync(Timeout);
        await node.Transport.PublishAsync(new MembershipChanged(room, bob.Connection.User.UserId, "bob", MemberRole.Member, MemberChange.Removed)).AsTask().WaitAsync(Timeout);
        var rejoin = node.Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0));
        gate.Open.TrySetResult();
        await holding.WaitAsync(Timeout);

        var refused = await Assert.ThrowsAsync<ChatException>(() => rejoin.WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.Forbidden, refused.Code);
        Assert.IsType<ConnectionRemoved>(await bob.NextNonPresenceAsync(room));
        Assert.Empty(bob.Connection.Rooms);
        Assert.Equal(2, node.Engine.CountLocalMembers(room));
        await node.SendAsync(room, "after");
        Assert.Equal(new long[] { 1 }, await alice.NextSeqsAsync(room, 1));
        await alice.AssertNothingBeforeSentinelAsync(node, room);
        Assert.DoesNotContain(bob.Received(room), e => e is MessagePosted);
    }

    /// <summary>Sends <paramref name="total"/> messages from <paramref name="node"/> and, once a third of them are out, runs
    /// <paramref name="during"/> (the removal) concurrently with the next third; the last third is published after it.</summary>
    private static async Task SendWhileAsync(TestNode node, string room, int total, Func<Task> during)
    {
        var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                await node.SendAsync(room, $"m{i}");
                if (i == total / 3)
                {
                    third.TrySetResult();
                }
                else if (i == 2 * total / 3)
                {
                    await published.Task.WaitAsync(Timeout);
                }
            }
        });
        await third.Task.WaitAsync(Timeout);
        await during().WaitAsync(Timeout);
        published.TrySetResult();
        await sending.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Updates_are_delivered_live_in_the_rooms_seq_order_together_with_new_messages()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        // seq 1 a message, 2 its edit, 3 a message, 4 a reaction to 1; published in reverse, then 2 again.
        var m1 = await node.AppendAsync(room, "one");
        var edit = await node.AppendUpdateAsync(room, m1.Id, new EditMessageText("one, edited", []));
        var m3 = await node.AppendAsync(room, "three");
        var react = await node.AppendUpdateAsync(room, m1.Id, new AddReaction("👍", Guid.NewGuid(), 20));
        await node.Transport.PublishAsync(react).AsTask().WaitAsync(Timeout);
        await node.PublishAsync(m3);
        await node.Transport.PublishAsync(edit).AsTask().WaitAsync(Timeout);
        await node.PublishAsync(m1);
        await node.Transport.PublishAsync(edit).AsTask().WaitAsync(Timeout);

        var received = await alice.NextSequencedAsync(room, 4);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, received.Select(SeqOf));
        Assert.IsType<MessagePosted>(received[0]);
        var edited = Assert.IsType<MessageUpdated>(received[1]);
        Assert.Equal(MessageChange.Edited, edited.Change);
        Assert.Equal("one, edited", edited.Message.Text);
        Assert.Equal(1, edited.Message.Seq); // the message keeps its own seq
        Assert.Equal(MessageChange.Reactions, Assert.IsType<MessageUpdated>(received[3]).Change);
        await alice.AssertNothingBeforeSentinelAsync(node, room);
    }

    [Fact]
    public async Task A_lost_update_is_filled_from_the_store_in_its_place_with_the_messages_current_state()
    {
        var node = (await NodesAsync(1, delivery: o => o.ReorderWindow = TimeSpan.FromSeconds(5)))[0];
        var room = await NewRoomAsync();
        var alice = node.Connect("alice");
        await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);

        var m1 = await node.SendAsync(room, "one");
        node.Transport.DropNext(1);
        await node.UpdateAsync(room, m1.Id, new EditMessageText("one, edited", [])); // seq 2, lost
        await node.UpdateAsync(room, m1.Id, new DeleteMessage()); // seq 3
        Assert.Equal(new long[] { 1 }, (await alice.NextSequencedAsync(room, 1)).Select(SeqOf));
        await alice.AssertNothingBeforeSentinelAsync(node, room); // seq 3 is held behind the gap

        Time.Advance(TimeSpan.FromSeconds(5));
        var filled = await alice.NextSequencedAsync(room, 2);
        Assert.Equal(new long[] { 2, 3 }, filled.Select(SeqOf));
        var gapFilled = Assert.IsType<MessageUpdated>(filled[0]);
        Assert.Equal(MessageChange.Edited, gapFilled.Change);
        Assert.True(gapFilled.Message.Deleted, "an update read from the store carries the message's current state (a deleted text is never served again)");
        Assert.Equal(string.Empty, gapFilled.Message.Text);
        Assert.Equal(MessageChange.Deleted, Assert.IsType<MessageUpdated>(filled[1]).Change);
    }

    [Fact]
    public async Task A_join_with_a_position_returns_the_missed_messages_and_updates_and_then_every_later_event_live_once()
    {
        var node = (await NodesAsync(1))[0];
        var room = await NewRoomAsync();
        var m1 = await node.SendAsync(room, "one");
        var m2 = await node.SendAsync(room, "two");
        await node.UpdateAsync(room, m1.Id, new EditMessageText("one, edited", [])); // 3
        await node.UpdateAsync(room, m2.Id, new DeleteMessage()); // 4
        await node.SendAsync(room, "five");

        var alice = node.Connect("alice");
        var join = await node.Engine.JoinAsync(alice.Connection, new RoomJoinRequest(RoomName.Parse(room), 1)).WaitAsync(Timeout);
        Assert.Equal(5, join.LastSeq);
        Assert.Equal(new long[] { 2, 5 }, join.Missed.Select(m => m.Seq));
        Assert.True(join.Missed[0].Deleted, "missed messages are in their current state");
        Assert.Equal(new long[] { 3, 4 }, join.Updates.Select(u => u.Seq));
        Assert.Equal("one, edited", join.Updates[0].Message.Text);
        Assert.Equal(new[] { MessageChange.Edited, MessageChange.Deleted }, join.Updates.Select(u => u.Change!.Value));
        Assert.False(join.HasMore);

        await node.UpdateAsync(room, m1.Id, new AddReaction("🎉", Guid.NewGuid(), 20)); // 6
        await node.SendAsync(room, "seven");
        Assert.Equal(new long[] { 6, 7 }, (await alice.NextSequencedAsync(room, 2)).Select(SeqOf));
        await alice.AssertNothingBeforeSentinelAsync(node, room);

        // Reconnecting with the last seq seen gets exactly the rest, nothing twice.
        var again = node.Connect("alice");
        var rejoin = await node.Engine.JoinAsync(again.Connection, new RoomJoinRequest(RoomName.Parse(room), 6)).WaitAsync(Timeout);
        Assert.Equal(new long[] { 7 }, rejoin.Missed.Select(m => m.Seq));
        Assert.Empty(rejoin.Updates);
    }

    [Fact]
    public async Task A_capped_catch_up_counts_updates_against_the_cap()
    {
        var node = (await NodesAsync(1, o => o.CatchUpLimit = 3))[0];
        var room = await NewRoomAsync();
        var m1 = await node.SendAsync(room, "one");
        for (var i = 0; i < 4; i++)
        {
            await node.UpdateAsync(room, m1.Id, new EditMessageText($"edit {i}", [])); // 2..5
        }

        var join = await node.Engine.JoinAsync(node.Connect("a").Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        Assert.Equal(5, join.LastSeq);
        Assert.Equal(new long[] { 1 }, join.Missed.Select(m => m.Seq));
        Assert.Equal(new long[] { 2, 3 }, join.Updates.Select(u => u.Seq));
        Assert.True(join.HasMore);
    }

    [Fact]
    public async Task Updates_of_another_node_reach_a_member_in_order_across_a_reconnect_with_its_last_seq()
    {
        var nodes = await NodesAsync(2);
        var room = await NewRoomAsync();
        var bob = nodes[1].Connect("bob");
        await nodes[1].Engine.JoinAsync(bob.Connection, new RoomJoinRequest(RoomName.Parse(room), 0)).WaitAsync(Timeout);
        var m1 = await nodes[0].SendAsync(room, "one");
        await nodes[0].UpdateAsync(room, m1.Id, new EditMessageText("edited on node 0", []));
        var seen = await bob.NextSequencedAsync(room, 2);
        Assert.Equal(new long[] { 1, 2 }, seen.Select(SeqOf));
        Assert.Equal("edited on node 0", Assert.IsType<MessageUpdated>(seen[1]).Message.Text);

        // Bob's connection drops; meanwhile node 0 edits again and sends; bob reconnects with the last seq he saw.
        await nodes[1].Engine.DisconnectAsync(bob.Connection).WaitAsync(Timeout);
        await nodes[0].UpdateAsync(room, m1.Id, new AddReaction("👍", Guid.NewGuid(), 20)); // 3
        await nodes[0].SendAsync(room, "four");
        var back = nodes[1].Connect("bob");
        var join = await nodes[1].Engine.JoinAsync(back.Connection, new RoomJoinRequest(RoomName.Parse(room), 2)).WaitAsync(Timeout);
        Assert.Equal(new long[] { 4 }, join.Missed.Select(m => m.Seq));
        Assert.Equal(new long[] { 3 }, join.Updates.Select(u => u.Seq));
        await nodes[0].UpdateAsync(room, m1.Id, new DeleteMessage()); // 5
        Assert.Equal(new long[] { 5 }, (await back.NextSequencedAsync(room, 1)).Select(SeqOf));
        await back.AssertNothingBeforeSentinelAsync(nodes[1], room);
    }

    [Fact]
    public async Task A_connected_user_receives_read_and_mention_events_on_every_node_outside_joined_rooms()
    {
        var nodes = await NodesAsync(2);
        var userId = Guid.NewGuid();
        var phone = nodes[0].Connect("alice", userId);
        var laptop = nodes[1].Connect("alice", userId);
        var other = nodes[1].Connect("bob");
        await nodes[0].Engine.ConnectAsync(phone.Connection).WaitAsync(Timeout);
        await nodes[1].Engine.ConnectAsync(laptop.Connection).WaitAsync(Timeout);
        await nodes[1].Engine.ConnectAsync(other.Connection).WaitAsync(Timeout);
        await nodes[1].Engine.ConnectAsync(laptop.Connection).WaitAsync(Timeout); // again: nothing changes
        var channel = UserChannels.For(userId);

        var room = await NewRoomAsync();
        var mentioning = await nodes[0].AppendAsync(room, "hi @alice");
        await nodes[0].Transport.PublishAsync(new ReadMarkerMoved(userId, room, 7, phone.Connection.ConnectionId)).AsTask().WaitAsync(Timeout);
        await nodes[0].Transport.PublishAsync(new UserMentioned(userId, mentioning)).AsTask().WaitAsync(Timeout);

        // Both devices get both events from the engine (skipping the connection that marked, ExceptConnectionId, is the sink's job).
        foreach (var device in new[] { phone, laptop })
        {
            var read = Assert.IsType<ReadMarkerMoved>(await device.NextAsync(channel));
            Assert.Equal((room, 7L), (read.ChatRoom, read.Seq));
            Assert.Equal(mentioning.Id, Assert.IsType<UserMentioned>(await device.NextAsync(channel)).Message.Id);
        }

        Assert.Empty(other.Received(channel));
        Assert.Empty(other.Received(UserChannels.For(other.Connection.User.UserId)));

        // A disconnected device gets nothing more; the other still does.
        await nodes[0].Engine.DisconnectAsync(phone.Connection).WaitAsync(Timeout);
        await nodes[1].Transport.PublishAsync(new ReadMarkerMoved(userId, room, 8, null)).AsTask().WaitAsync(Timeout);
        Assert.Equal(8, Assert.IsType<ReadMarkerMoved>(await laptop.NextAsync(channel)).Seq);
        Assert.Equal(2, phone.Received(channel).Count);
        Assert.Equal(0, nodes[0].Engine.CountLocalMembers(channel));
    }

    private static long SeqOf(RoomEvent e) => e switch
    {
        MessagePosted p => p.Message.Seq,
        MessageUpdated u => u.Seq,
        _ => throw new ArgumentException($"not an event of the room's sequence: {e}"),
    };

    /// <summary>
    /// Asserts a removal that happened while <paramref name="total"/> messages were sent: each removed connection received
    /// an unbroken run of the first messages, then <c>removed</c>, then nothing (after a sentinel reached
    /// <paramref name="stayer"/> on the same node); the stayer received every message once in order and the member event
    /// exactly where the removed connections' run ended.
    /// </summary>
    private static async Task AssertRemovedMidStreamAsync(TestNode node, string room, int total, TestClient stayer, MembershipChanged change, TestClient[] removed, string? reason = null)
    {
        var received = await stayer.NextSeqsAndMemberEventsAsync(room, total, 1);
        Assert.Equal(Enumerable.Range(1, total).Select(s => (long)s), received.OfType<MessagePosted>().Select(p => p.Message.Seq));
        var member = Assert.Single(received, e => e is MembershipChanged);
        Assert.Equal(change, member);
        var before = received.TakeWhile(e => e is not MembershipChanged).Count();
        Assert.InRange(before, total / 3, 2 * total / 3); // mid-stream: published among the messages, a third after it

        // Every event of the room the node handled after the removal reached the stayer; the removed ones got none of them.
        await stayer.AssertNothingBeforeSentinelAsync(node, room);
        foreach (var client in removed)
        {
            var events = client.Received(room).Where(e => e is not PresenceChanged).ToArray();
            var last = Assert.IsType<ConnectionRemoved>(events[^1]);
            Assert.Equal(reason ?? change.Reason ?? "removed", last.Reason);
            Assert.Equal(Enumerable.Range(1, before).Select(s => (long)s), events[..^1].Select(e => Assert.IsType<MessagePosted>(e).Message.Seq));
        }
    }

    /// <summary>Creates a room in the shared store.</summary>
    /// <returns>The room name.</returns>
    protected async Task<string> NewRoomAsync()
    {
        var name = "room-" + Guid.NewGuid().ToString("N")[..10];
        await Store.Rooms.TryCreateAsync(new ChatRoom(Guid.CreateVersion7(), name, null, Time.GetUtcNow(), 1)).WaitAsync(Timeout);
        return name;
    }

    /// <summary>Creates <paramref name="count"/> nodes, each with its own engine over its own transport.</summary>
    /// <param name="count">The number of nodes.</param>
    /// <param name="chat">Configures ChitChat's options.</param>
    /// <param name="delivery">Configures the delivery options.</param>
    /// <returns>The nodes.</returns>
    protected async Task<IReadOnlyList<TestNode>> NodesAsync(int count, Action<ChitChatOptions>? chat = null, Action<DeliveryOptions>? delivery = null)
    {
        var transports = await CreateTrackedNodesAsync(count);
        var nodes = new List<TestNode>();
        foreach (var transport in transports)
        {
            var lossy = new LossyTransport(transport);
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddSingleton<TimeProvider>(Time);
            services.AddChitChat(o => chat?.Invoke(o)).UseStore(_ => Store);
            services.AddSingleton<IChatTransport>(lossy);
            services.Configure<DeliveryOptions>(o => delivery?.Invoke(o));
            var provider = services.BuildServiceProvider();
            _providers.Add(provider);
            nodes.Add(new TestNode(provider.GetRequiredService<DeliveryEngine>(), lossy, Store, Time));
        }

        return nodes;
    }

    /// <summary>One node: its engine and its (lossy) transport.</summary>
    /// <param name="Engine">The node's engine.</param>
    /// <param name="Transport">The node's transport.</param>
    /// <param name="Store">The shared store.</param>
    /// <param name="Time">The shared clock.</param>
    protected sealed record TestNode(DeliveryEngine Engine, LossyTransport Transport, IChatStore Store, TimeProvider Time)
    {
        private int _connections;

        /// <summary>Opens a connection on this node.</summary>
        /// <param name="userName">The user name.</param>
        /// <param name="userId">The user id (a new one by default).</param>
        /// <param name="maxRooms">How many rooms it may join.</param>
        /// <returns>The client.</returns>
        public TestClient Connect(string userName, Guid? userId = null, int maxRooms = 50)
        {
            var sink = new RecordingSink();
            var id = $"{userName}-{Interlocked.Increment(ref _connections)}-{Guid.NewGuid():N}";
            return new TestClient(new ClientConnection(id, new ChatIdentity(userId ?? Guid.NewGuid(), userName), sink, maxRooms), sink);
        }

        /// <summary>Appends a message to the store without publishing it.</summary>
        /// <param name="room">The room.</param>
        /// <param name="text">The text.</param>
        /// <returns>The stored message.</returns>
        public async Task<ChatMessage> AppendAsync(string room, string text) =>
            (await Store.Messages.AppendAsync(new NewMessage(Guid.CreateVersion7(), room, Guid.NewGuid(), "sender", text, Time.GetUtcNow(), null)).WaitAsync(Timeout)).Message;

        /// <summary>Publishes a stored message on this node's transport.</summary>
        /// <param name="message">The message.</param>
        /// <returns>A task that completes when published.</returns>
        public Task PublishAsync(ChatMessage message) => Transport.PublishAsync(new MessagePosted(message)).AsTask().WaitAsync(Timeout);

        /// <summary>Changes a stored message in the store (taking the room's next seq) without publishing the change.</summary>
        /// <param name="room">The room.</param>
        /// <param name="id">The message.</param>
        /// <param name="mutation">The change.</param>
        /// <returns>The event to publish.</returns>
        public async Task<MessageUpdated> AppendUpdateAsync(string room, Guid id, MessageMutation mutation)
        {
            var result = await Store.Messages.UpdateAsync(room, id, mutation, Time.GetUtcNow()).WaitAsync(Timeout);
            Assert.Equal(MessageUpdateStatus.Updated, result.Status);
            return new MessageUpdated(result.Update!.Seq, result.Update.Change, result.Message!);
        }

        /// <summary>Changes a message as the message operations do: update in the store, then publish.</summary>
        /// <param name="room">The room.</param>
        /// <param name="id">The message.</param>
        /// <param name="mutation">The change.</param>
        /// <returns>The published event.</returns>
        public async Task<MessageUpdated> UpdateAsync(string room, Guid id, MessageMutation mutation)
        {
            var updated = await AppendUpdateAsync(room, id, mutation);
            await Transport.PublishAsync(updated).AsTask().WaitAsync(Timeout);
            return updated;
        }

        /// <summary>Sends as the message sender does: append, then publish.</summary>
        /// <param name="room">The room.</param>
        /// <param name="text">The text.</param>
        /// <returns>The stored message.</returns>
        public async Task<ChatMessage> SendAsync(string room, string text)
        {
            var message = await AppendAsync(room, text);
            await PublishAsync(message);
            return message;
        }
    }

    /// <summary>A connection and what its sink received.</summary>
    /// <param name="Connection">The connection.</param>
    /// <param name="Sink">Its sink.</param>
    protected sealed record TestClient(ClientConnection Connection, RecordingSink Sink)
    {
        /// <summary>Waits for the next event of a room.</summary>
        /// <param name="room">The room.</param>
        /// <returns>The event.</returns>
        public Task<RoomEvent> NextAsync(string room) => Sink.NextAsync(Connection, room);

        /// <summary>Waits for the next presence event about <paramref name="userName"/> in a room (skipping other events).</summary>
        /// <param name="room">The room.</param>
        /// <param name="userName">The user name.</param>
        /// <returns>The event.</returns>
        public async Task<PresenceChanged> NextPresenceOfAsync(string room, string userName)
        {
            while (true)
            {
                if (await NextAsync(room) is PresenceChanged p && p.UserName == userName)
                {
                    return p;
                }
            }
        }

        /// <summary>Waits for the next event of a room that is no presence event.</summary>
        /// <param name="room">The room.</param>
        /// <returns>The event.</returns>
        public async Task<RoomEvent> NextNonPresenceAsync(string room)
        {
            while (true)
            {
                if (await NextAsync(room) is not PresenceChanged and var next)
                {
                    return next;
                }
            }
        }

        /// <summary>Waits for the next <paramref name="count"/> messages of a room and returns them with the member events
        /// among them, in arrival order (skipping other events).</summary>
        /// <param name="room">The room.</param>
        /// <param name="count">How many messages.</param>
        /// <param name="memberEvents">How many member events (at least) to wait for too.</param>
        /// <returns>The messages and member events.</returns>
        public async Task<IReadOnlyList<RoomEvent>> NextSeqsAndMemberEventsAsync(string room, int count, int memberEvents = 0)
        {
            var events = new List<RoomEvent>();
            var messages = 0;
            var members = 0;
            while (messages < count || members < memberEvents)
            {
                var next = await NextAsync(room);
                if (next is MessagePosted)
                {
                    messages++;
                    events.Add(next);
                }
                else if (next is MembershipChanged or ConnectionRemoved)
                {
                    members++;
                    events.Add(next);
                }
            }

            return events;
        }

        /// <summary>Waits for the next <paramref name="count"/> messages of a room (skipping other events) and returns their seqs.</summary>
        /// <param name="room">The room.</param>
        /// <param name="count">How many.</param>
        /// <returns>The seqs in arrival order.</returns>
        public async Task<long[]> NextSeqsAsync(string room, int count)
        {
            var seqs = new List<long>();
            while (seqs.Count < count)
            {
                if (await NextAsync(room) is MessagePosted posted)
                {
                    seqs.Add(posted.Message.Seq);
                }
            }

            return [.. seqs];
        }

        /// <summary>Waits for the next <paramref name="count"/> events of the room's sequence (new messages and updates,
        /// skipping other events), in arrival order.</summary>
        /// <param name="room">The room.</param>
        /// <param name="count">How many.</param>
        /// <returns>The events.</returns>
        public async Task<IReadOnlyList<RoomEvent>> NextSequencedAsync(string room, int count)
        {
            var events = new List<RoomEvent>();
            while (events.Count < count)
            {
                var next = await NextAsync(room);
                if (next is MessagePosted or MessageUpdated)
                {
                    events.Add(next);
                }
            }

            return events;
        }

        /// <summary>Gets everything received in a room so far.</summary>
        /// <param name="room">The room.</param>
        /// <returns>The events.</returns>
        public IReadOnlyList<RoomEvent> Received(string room) => Sink.Received(Connection, room);

        /// <summary>Publishes a sentinel typing event on <paramref name="node"/> and asserts it is the next thing this client receives.</summary>
        /// <param name="node">The node to publish on.</param>
        /// <param name="room">The room.</param>
        /// <returns>A task that completes when asserted.</returns>
        public async Task AssertNothingBeforeSentinelAsync(TestNode node, string room)
        {
            var sentinel = new UserTyping(room, Guid.NewGuid(), "sentinel");
            await node.Transport.PublishAsync(sentinel).AsTask().WaitAsync(Timeout);
            while (true)
            {
                var next = await NextAsync(room);
                if (next is UserTyping t && t.UserId == sentinel.UserId)
                {
                    return;
                }

                // Presence of other members may still be on its way from another node; a message may not.
                Assert.False(next is MessagePosted or MessageUpdated, $"expected no more messages or updates before the sentinel, received {next}");
            }
        }
    }

    /// <summary>A sink that records, per connection and room, what the engine delivered to it.</summary>
    protected sealed class RecordingSink : IDeliverySink
    {
        private readonly ConcurrentDictionary<string, HashSet<ClientConnection>> _audience = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<(ClientConnection, string), Channel<RoomEvent>> _inboxes = new();
        private readonly ConcurrentDictionary<(ClientConnection, string), List<RoomEvent>> _history = new();

        /// <inheritdoc />
        public ValueTask AddAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default)
        {
            var members = _audience.GetOrAdd(room, _ => []);
            lock (members)
            {
                members.Add(connection);
            }

            return ValueTask.CompletedTask;
        }

        /// <inheritdoc />
        public ValueTask RemoveAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default)
        {
            if (_audience.TryGetValue(room, out var members))
            {
                lock (members)
                {
                    members.Remove(connection);
                }
            }

            return ValueTask.CompletedTask;
        }

        /// <inheritdoc />
        public void Deliver(string room, RoomEvent roomEvent)
        {
            if (!_audience.TryGetValue(room, out var members))
            {
                throw new InvalidOperationException($"The engine delivered to room {room}, where this sink has nobody.");
            }

            ClientConnection[] targets;
            lock (members)
            {
                targets = [.. members];
            }

            foreach (var connection in targets)
            {
                Inbox(connection, room).Writer.TryWrite(roomEvent);
                var history = _history.GetOrAdd((connection, room), _ => []);
                lock (history)
                {
                    history.Add(roomEvent);
                }
            }
        }

        /// <inheritdoc />
        public void DeliverRemoved(string room, IReadOnlyList<ClientConnection> connections, string reason)
        {
            foreach (var connection in connections)
            {
                if (_audience.TryGetValue(room, out var members))
                {
                    lock (members)
                    {
                        if (members.Contains(connection))
                        {
                            throw new InvalidOperationException($"The engine told {connection.ConnectionId} it was removed from {room} before removing it.");
                        }
                    }
                }

                var removed = new ConnectionRemoved(room, reason);
                Inbox(connection, room).Writer.TryWrite(removed);
                var history = _history.GetOrAdd((connection, room), _ => []);
                lock (history)
                {
                    history.Add(removed);
                }
            }
        }

        /// <summary>Waits for the next event a connection received in a room.</summary>
        /// <param name="connection">The connection.</param>
        /// <param name="room">The room.</param>
        /// <returns>The event.</returns>
        public async Task<RoomEvent> NextAsync(ClientConnection connection, string room)
        {
            try
            {
                return await Inbox(connection, room).Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"{connection.ConnectionId} received nothing more in {room} within {Timeout}; so far: {string.Join(", ", Received(connection, room))}");
            }
        }

        /// <summary>Gets everything a connection received in a room so far.</summary>
        /// <param name="connection">The connection.</param>
        /// <param name="room">The room.</param>
        /// <returns>The events.</returns>
        public IReadOnlyList<RoomEvent> Received(ClientConnection connection, string room)
        {
            if (!_history.TryGetValue((connection, room), out var history))
            {
                return [];
            }

            lock (history)
            {
                return [.. history];
            }
        }

        private Channel<RoomEvent> Inbox(ClientConnection connection, string room) =>
            _inboxes.GetOrAdd((connection, room), _ => Channel.CreateUnbounded<RoomEvent>());
    }

    /// <summary>A sink whose <see cref="AddAsync"/> waits for <see cref="Open"/> (holding the room's pump) before it adds
    /// to the inner sink.</summary>
    /// <param name="inner">The sink it adds to and delivers to.</param>
    protected sealed class GatedSink(RecordingSink inner) : IDeliverySink
    {
        /// <summary>Gets the signal that an add is waiting at the gate.</summary>
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Gets the gate.</summary>
        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <inheritdoc />
        public async ValueTask AddAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Open.Task.WaitAsync(Timeout, cancellationToken);
            await inner.AddAsync(room, connection, cancellationToken);
        }

        /// <inheritdoc />
        public ValueTask RemoveAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default) => inner.RemoveAsync(room, connection, cancellationToken);

        /// <inheritdoc />
        public void Deliver(string room, RoomEvent roomEvent)
        {
            // The inner sink has its own members in the room and receives the event itself.
        }

        /// <inheritdoc />
        public void DeliverRemoved(string room, IReadOnlyList<ClientConnection> connections, string reason) => inner.DeliverRemoved(room, connections, reason);
    }

    /// <summary>What <see cref="RecordingSink"/> records for <see cref="IDeliverySink.DeliverRemoved"/> (the <c>removed</c> event).</summary>
    /// <param name="Room">The room.</param>
    /// <param name="Reason">The reason.</param>
    protected sealed record ConnectionRemoved(string Room, string Reason) : RoomEvent(Room);

    /// <summary>A transport wrapper that can lose the next publications and report <see cref="TransportResumed"/> to its local subscribers.</summary>
    /// <param name="inner">The real transport.</param>
    protected sealed class LossyTransport(IChatTransport inner) : IChatTransport
    {
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<RoomEventHandler, byte>> _handlers = new(StringComparer.Ordinal);
        private int _drop;

        /// <inheritdoc />
        public string Name => inner.Name;

        /// <inheritdoc />
        public TransportStatus Status => inner.Status;

        /// <summary>Loses the next <paramref name="count"/> message and update publications of this node (nobody, not even this node, receives them).</summary>
        /// <param name="count">How many.</param>
        public void DropNext(int count) => Interlocked.Add(ref _drop, count);

        /// <inheritdoc />
        public ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
        {
            if (roomEvent is MessagePosted or MessageUpdated && Interlocked.Decrement(ref _drop) >= 0)
            {
                return ValueTask.CompletedTask;
            }

            Interlocked.CompareExchange(ref _drop, 0, -1);
            return inner.PublishAsync(roomEvent, cancellationToken);
        }

        /// <inheritdoc />
        public async ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default)
        {
            var subscription = await inner.SubscribeAsync(room, handler, cancellationToken);
            var handlers = _handlers.GetOrAdd(room, _ => new());
            handlers.TryAdd(handler, 0);
            return new Subscription(subscription, () => handlers.TryRemove(handler, out _));
        }

        /// <summary>Reports to this node's subscribers of <paramref name="room"/> that the transport resumed, as a real one does after an outage.</summary>
        /// <param name="room">The room.</param>
        /// <returns>A task that completes when reported.</returns>
        public async Task RaiseResumedAsync(string room)
        {
            foreach (var handler in _handlers.GetValueOrDefault(room)?.Keys ?? [])
            {
                await handler(new TransportResumed(room), CancellationToken.None);
            }
        }

        private sealed class Subscription(IAsyncDisposable inner, Action removed) : IAsyncDisposable
        {
            public ValueTask DisposeAsync()
            {
                removed();
                return inner.DisposeAsync();
            }
        }
    }
}
