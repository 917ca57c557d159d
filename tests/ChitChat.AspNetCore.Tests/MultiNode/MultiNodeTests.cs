using ChitChat.Contracts;
using System.Collections.Concurrent;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests.MultiNode;

/// <summary>
/// Real Kestrel nodes sharing one real redis-server and one SQLite file. The tests of this class run one after another
/// (one class), each on its own cluster, so a killed Redis never touches another test.
/// </summary>
public sealed class MultiNodeTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);

    private record PresenceEntry(Guid UserId, string UserName);

    [Fact]
    public async Task Clients_on_different_nodes_see_every_message_once_in_the_same_order()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var users = new[] { await a.NewUserAsync("mn"), await b.NewUserAsync("mn"), await a.NewUserAsync("mn") };
        var room = await a.NewRoomAsync(users[0]);
        var homes = new[] { a, b, a };
        var clients = new List<HubClient>();
        try
        {
            for (var i = 0; i < users.Length; i++)
            {
                var client = await ChitChatCluster.On(users[i], homes[i]).ConnectAsync();
                clients.Add(client);
                var join = await client.JoinAsync(room);
                Assert.Empty(join.Missed);
            }

            const int PerClient = 30;
            var acks = new ConcurrentDictionary<Guid, (int Sender, int Index, SendMessageAck Ack)>();
            await Task.WhenAll(clients.Select((client, sender) => Task.Run(async () =>
            {
                for (var n = 0; n < PerClient; n++)
                {
                    var ack = await client.SendAsync(room, $"{users[sender].UserName} #{n}");
                    acks[ack.Id] = (sender, n, ack);
                }
            }))).WaitAsync(Long);

            const int Total = PerClient * 3;
            Assert.Equal(Total, acks.Count);
            Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), acks.Values.Select(v => v.Ack.Seq).Order());

            for (var i = 0; i < clients.Count; i++)
            {
                await clients[i].WaitUntilAsync(c => c.Messages(room).Length >= Total, $"client {i} (node {(homes[i] == a ? "A" : "B")}) receives all {Total} messages");
            }

            var reference = clients[0].Messages(room);
            Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), reference.Select(m => m.Seq));
            foreach (var message in reference)
            {
                var (sender, index, ack) = acks[message.Id];
                Assert.Equal(ack.Seq, message.Seq);
                Assert.Equal($"{users[sender].UserName} #{index}", message.Text);
                Assert.Equal(users[sender].Id, message.AuthorId);
                Assert.Equal(users[sender].UserName, message.AuthorName);
            }

            // Each sender's messages keep their send order.
            for (var sender = 0; sender < users.Length; sender++)
            {
                var own = reference.Where(m => m.AuthorId == users[sender].Id).Select(m => acks[m.Id].Index).ToArray();
                Assert.Equal(Enumerable.Range(0, PerClient), own);
            }

            foreach (var client in clients.Skip(1))
            {
                var seen = client.Messages(room);
                Assert.Equal(reference.Select(m => (m.Seq, m.Id, m.Text, m.AuthorId)), seen.Select(m => (m.Seq, m.Id, m.Text, m.AuthorId)));
            }
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
    public async Task Presence_and_typing_cross_nodes_and_the_last_connection_leaving_anywhere_makes_the_user_offline()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var alice = await a.NewUserAsync("alice");
        var bob = await b.NewUserAsync("bob");
        var room = await a.NewRoomAsync(alice);

        await using var bobOnB = await ChitChatCluster.On(bob, b).ConnectAsync();
        await bobOnB.JoinAsync(room);

        // Join on A: visible on B through GetPresence and a presence event.
        await using var aliceOnA = await ChitChatCluster.On(alice, a).ConnectAsync();
        await aliceOnA.JoinAsync(room);
        await bobOnB.WaitUntilAsync(c => c.Presence(room).Any(p => p.UserId == alice.Id && p.Online), "node B receives alice's online presence event from node A");
        var online = await bobOnB.Connection.InvokeAsync<List<PresenceEntry>>("GetPresence", room).WaitAsync(Timeouts.Default);
        Assert.Contains(online, p => p.UserId == alice.Id && p.UserName == alice.UserName);
        Assert.Contains(online, p => p.UserId == bob.Id);

        // Typing on A reaches B.
        await aliceOnA.Connection.InvokeAsync("Typing", room).WaitAsync(Timeouts.Default);
        await bobOnB.WaitUntilAsync(c => c.Typing(room).Any(t => t.UserId == alice.Id && t.UserName == alice.UserName), "node B receives alice's typing event from node A");

        // A second connection of alice on B; leaving there keeps her online (her connection on A remains).
        var aliceOnB = await ChitChatCluster.On(alice, b).ConnectAsync();
        try
        {
            await aliceOnB.JoinAsync(room);
            await aliceOnB.Connection.InvokeAsync("LeaveRoom", room).WaitAsync(Timeouts.Default);
            online = await bobOnB.Connection.InvokeAsync<List<PresenceEntry>>("GetPresence", room).WaitAsync(Timeouts.Default);
            Assert.Contains(online, p => p.UserId == alice.Id);
            Assert.DoesNotContain(bobOnB.Presence(room), p => p.UserId == alice.Id && !p.Online);
        }
        finally
        {
            await aliceOnB.DisposeAsync();
        }

        // Her last connection (on A) goes away: node B gets the offline event and she is no longer listed there.
        await aliceOnA.DisposeAsync();
        await bobOnB.WaitUntilAsync(c => c.Presence(room).Any(p => p.UserId == alice.Id && !p.Online), "node B receives alice's offline presence event after her last connection (node A) closed");
        online = await Eventually.UntilAsync(
            () => bobOnB.Connection.InvokeAsync<List<PresenceEntry>>("GetPresence", room),
            list => list.All(p => p.UserId != alice.Id),
            "GetPresence on node B no longer lists alice");
        Assert.Contains(online, p => p.UserId == bob.Id);
    }

    [Fact]
    public async Task A_client_moving_from_node_A_to_node_B_gets_exactly_the_missed_messages_then_live_ones()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var mover = await a.NewUserAsync("mover");
        var talker = await a.NewUserAsync("talker");
        var room = await a.NewRoomAsync(talker);

        await using var talkerOnA = await ChitChatCluster.On(talker, a).ConnectAsync();
        await talkerOnA.JoinAsync(room);
        var first = await ChitChatCluster.On(mover, a).ConnectAsync();
        long lastSeen;
        const int DuringMove = 60;
        const int Total = DuringMove + 5;
        Task sending;
        try
        {
            await first.JoinAsync(room);

            // The talker keeps sending from node A while the mover switches nodes.
            sending = Task.Run(async () =>
            {
                for (var n = 1; n <= DuringMove; n++)
                {
                    await talkerOnA.SendAsync(room, $"m{n}");
                }
            });

            await first.WaitUntilAsync(c => c.Messages(room).Length >= 5, "the mover receives the first messages on node A");
        }
        finally
        {
            await first.DisposeAsync();
        }

        var before = first.Messages(room);
        Assert.Equal(Enumerable.Range(1, before.Length).Select(i => (long)i), before.Select(m => m.Seq));
        lastSeen = before[^1].Seq;

        await using var second = await ChitChatCluster.On(mover, b).ConnectAsync();
        var join = await second.JoinAsync(room, lastSeen);
        Assert.False(join.HasMore);
        Assert.Equal(Enumerable.Range((int)lastSeen + 1, (int)(join.LastSeq - lastSeen)).Select(i => (long)i), join.Missed.Select(m => m.Seq));

        await sending.WaitAsync(Long);

        // And some sent only after the move: these can only arrive live on node B.
        for (var n = DuringMove + 1; n <= Total; n++)
        {
            await talkerOnA.SendAsync(room, $"m{n}");
        }

        await second.WaitUntilAsync(c => join.LastSeq + c.Messages(room).Length >= Total, "the mover receives the live messages on node B");

        var live = second.Messages(room);
        Assert.True(live.Length >= Total - DuringMove, "the messages sent after the move arrive live");
        var combined = before.Concat(join.Missed).Concat(live).ToArray();
        Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), combined.Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(1, Total).Select(i => $"m{i}"), combined.Select(m => m.Text));
        Assert.All(combined, m => Assert.Equal(talker.Id, m.AuthorId));
    }

    [Fact]
    public async Task Redis_killed_mid_traffic_and_restarted_every_client_ends_with_every_persisted_message_once()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var users = new[] { await a.NewUserAsync("ra"), await b.NewUserAsync("rb") };
        var room = await a.NewRoomAsync(users[0]);
        var homes = new[] { a, b };
        var clients = new List<HubClient>();
        var acked = new ConcurrentDictionary<long, Guid>();
        var failures = new ConcurrentQueue<string>();
        var unexpected = new ConcurrentQueue<Exception>();
        try
        {
            for (var i = 0; i < users.Length; i++)
            {
                clients.Add(await ChitChatCluster.On(users[i], homes[i]).ConnectAsync());
                await clients[i].JoinAsync(room);
            }

            Assert.True((await ChitChatCluster.HealthAsync(a)).Is("Healthy"));
            Assert.True((await ChitChatCluster.HealthAsync(b)).Is("Healthy"));

            using var stop = new CancellationTokenSource();
            var sent = new int[clients.Count];
            var senders = clients.Select((client, i) => Task.Run(async () =>
            {
                var n = 0;
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var ack = await client.SendAsync(room, $"{users[i].UserName} #{n++}");
                        acked[ack.Seq] = ack.Id;
                        Interlocked.Increment(ref sent[i]);
                    }
                    catch (HubException ex)
                    {
                        failures.Enqueue(HubError.Code(ex));
                    }
                    catch (Exception ex)
                    {
                        unexpected.Enqueue(ex);
                        return;
                    }
                }
            })).ToArray();

            int Sent() => Volatile.Read(ref sent[0]) + Volatile.Read(ref sent[1]);

            await Eventually.UntilAsync(() => Task.FromResult(Sent()), s => s >= 20, "phase 1: both nodes send with Redis up");

            cluster.Redis.Kill();
            var atKill = Sent();
            var atKillPerNode = (Volatile.Read(ref sent[0]), Volatile.Read(ref sent[1]));
            var atKillMaxSeq = acked.Keys.DefaultIfEmpty(0).Max();
            var degradedA = await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(a), h => h.Is("Degraded"), "phase 2: node A reports the transport and redis checks Degraded while Redis is down", Long);
            Assert.Equal(200, degradedA.HttpStatus); // Degraded, not Unhealthy: the node still serves (sends persist).
            var degradedB = await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(b), h => h.Is("Degraded"), "phase 2: node B reports the transport and redis checks Degraded while Redis is down", Long);
            Assert.Equal(200, degradedB.HttpStatus); // Degraded, not Unhealthy: the node still serves (sends persist).
            await Eventually.UntilAsync(() => Task.FromResult((Volatile.Read(ref sent[0]), Volatile.Read(ref sent[1]))), s => s.Item1 >= atKillPerNode.Item1 + 10 && s.Item2 >= atKillPerNode.Item2 + 10, "phase 2: sends keep succeeding on both nodes while Redis is down", Long);
            var whileDown = Sent() - atKill;

            // While Redis is down nothing crosses nodes through Redis; a node's own (locally delivered) messages still reveal
            // the other node's seqs as gaps, which the room pump fills from the shared store. Recorded for the report.
            var otherNodeWhileDown = new int[clients.Count];
            for (var i = 0; i < clients.Count; i++)
            {
                otherNodeWhileDown[i] = clients[i].Messages(room).Count(m => m.Seq > atKillMaxSeq && m.AuthorId == users[1 - i].Id);
            }

            await cluster.Redis.StartAsync().WaitAsync(Long);
            await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(a), h => h.Is("Healthy") && h.Status == "Healthy", "phase 3: node A reports the transport and redis checks Healthy after the restart", Long);
            await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(b), h => h.Is("Healthy") && h.Status == "Healthy", "phase 3: node B reports the transport and redis checks Healthy after the restart", Long);

            // Keep sending until live delivery works again across nodes: each client has seen a message the other sent
            // after recovery (its seq is above every seq acked before recovery).
            var recoveredAbove = acked.Keys.DefaultIfEmpty(0).Max();
            await Eventually.UntilAsync(
                () => Task.FromResult(clients.Select((c, i) => c.Messages(room).Any(m => m.Seq > recoveredAbove && m.AuthorId == users[1 - i].Id)).ToArray()),
                seen => seen.All(x => x),
                "phase 4: each client receives messages the other node accepted after the restart",
                Long);

            await stop.CancelAsync();
            await Task.WhenAll(senders).WaitAsync(Long);
            Assert.Empty(unexpected);

            // A few more after recovery, then every client must hold every persisted message exactly once, in order.
            for (var n = 0; n < 3; n++)
            {
                for (var i = 0; i < clients.Count; i++)
                {
                    var ack = await clients[i].SendAsync(room, $"{users[i].UserName} after #{n}");
                    acked[ack.Seq] = ack.Id;
                }
            }

            var stored = await ChitChatCluster.ReadStoreAsync(users[0], room);
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored.Select(m => m.Seq));
            foreach (var (seq, id) in acked)
            {
                Assert.Equal(id, stored[(int)seq - 1].Id);
            }

            Assert.Equal(acked.Count, stored.Count);
            for (var i = 0; i < clients.Count; i++)
            {
                await clients[i].WaitUntilAsync(c => c.Messages(room).Length >= stored.Count, $"phase 5: client {i} holds all {stored.Count} persisted messages");
                var seen = clients[i].Messages(room);
                Assert.Equal(stored.Select(m => (m.Seq, m.Id, m.Text, m.AuthorId)), seen.Select(m => (m.Seq, m.Id, m.Text, m.AuthorId)));
            }

            // Typed failures only (recorded for the report); the senders never hit anything else.
            Assert.All(failures, code => Assert.Contains(code, new[] { "unavailable", "rate_limited" }));
            TestContext.Current.SendDiagnosticMessage($"Redis kill: {stored.Count} messages persisted, {whileDown} acked while Redis was down, other node's messages already held at restart: {string.Join("/", otherNodeWhileDown)}, failed sends: {failures.Count} ({string.Join(",", failures.Distinct())})");
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
    public async Task Redis_killed_while_a_room_is_quiet_and_restarted_every_client_converges_without_a_new_message()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var users = new[] { await a.NewUserAsync("qa"), await b.NewUserAsync("qb") };
        var room = await a.NewRoomAsync(users[0]);
        await using var alice = await ChitChatCluster.On(users[0], a).ConnectAsync();
        await using var bob = await ChitChatCluster.On(users[1], b).ConnectAsync();
        await alice.JoinAsync(room);
        await bob.JoinAsync(room);
        await alice.SendAsync(room, "before the outage");
        await bob.WaitUntilAsync(c => c.Messages(room).Length == 1, "phase 1: bob receives alice's message through Redis");

        cluster.Redis.Kill();
        await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(a), h => h.Is("Degraded"), "phase 2: node A sees Redis down", Long);
        await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(b), h => h.Is("Degraded"), "phase 2: node B sees Redis down", Long);
        for (var i = 0; i < 3; i++)
        {
            await alice.SendAsync(room, $"during the outage #{i}");
        }

        await alice.WaitUntilAsync(c => c.Messages(room).Length == 4, "phase 2: alice's own node delivers her messages locally");
        Assert.Single(bob.Messages(room)); // nothing crossed to node B while Redis was down

        // Redis returns and the room stays quiet: nobody sends again, nobody reconnects.
        await cluster.Redis.StartAsync().WaitAsync(Long);
        await Eventually.UntilAsync(() => ChitChatCluster.HealthAsync(b), h => h.Is("Healthy") && h.Status == "Healthy", "phase 3: node B sees Redis back", Long);
        await bob.WaitUntilAsync(c => c.Messages(room).Length == 4, "phase 3: bob converges without a new message (node B reconciles the room with the store when the transport resumes)");
        var stored = await ChitChatCluster.ReadStoreAsync(users[1], room);
        Assert.Equal(stored.Select(m => (m.Seq, m.Id)), bob.Messages(room).Select(m => (m.Seq, m.Id)));
    }

    [Fact]
    public async Task A_crashed_nodes_users_expire_from_presence_on_the_other_node()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var alice = await a.NewUserAsync("alice");
        var bob = await b.NewUserAsync("bob");
        var room = await a.NewRoomAsync(alice);

        await using var aliceOnA = await ChitChatCluster.On(alice, a).ConnectAsync();
        await using var bobOnB = await ChitChatCluster.On(bob, b).ConnectAsync();
        await aliceOnA.JoinAsync(room);
        await bobOnB.JoinAsync(room);

        Task<List<PresenceEntry>> PresenceOnB() => bobOnB.Connection.InvokeAsync<List<PresenceEntry>>("GetPresence", room);
        await Eventually.UntilAsync(PresenceOnB, list => list.Any(p => p.UserId == alice.Id) && list.Any(p => p.UserId == bob.Id), "GetPresence on node B lists alice (node A) and bob (node B)");

        // Node A "crashes" as far as the cluster can tell: it stops refreshing its presence and nobody leaves. A graceful
        // host stop is not a crash: it closes the hub connections and each one leaves its rooms cleanly.
        await ChitChatCluster.StopPresenceHeartbeatAsync(a);

        var online = await Eventually.UntilAsync(PresenceOnB, list => list.All(p => p.UserId != alice.Id), "alice's presence expires on node B after node A stopped heartbeating");
        Assert.Equal(HubConnectionState.Connected, aliceOnA.Connection.State);
        Assert.DoesNotContain(bobOnB.Presence(room), p => p.UserId == alice.Id && !p.Online);

        // Node B keeps heartbeating: bob, connected for as long as alice was, is still listed.
        Assert.Contains(online, p => p.UserId == bob.Id);
    }

    [Fact]
    public async Task A_stopped_nodes_users_disappear_from_presence_on_the_other_node()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var alice = await a.NewUserAsync("alice");
        var bob = await b.NewUserAsync("bob");
        var room = await a.NewRoomAsync(alice);

        var aliceOnA = await ChitChatCluster.On(alice, a).ConnectAsync();
        await using var bobOnB = await ChitChatCluster.On(bob, b).ConnectAsync();
        await aliceOnA.JoinAsync(room);
        await bobOnB.JoinAsync(room);

        Task<List<PresenceEntry>> PresenceOnB() => bobOnB.Connection.InvokeAsync<List<PresenceEntry>>("GetPresence", room);
        await Eventually.UntilAsync(PresenceOnB, list => list.Any(p => p.UserId == alice.Id), "GetPresence on node B lists alice (node A)");

        // Node A's host stops under its client (the client never calls LeaveRoom). In practice the stopping host closes the
        // hub connection and OnDisconnectedAsync leaves cleanly (an offline event reaches node B), which is why the crash
        // test above stops node A's presence heartbeat instead. Either way alice must disappear on node B.
        cluster.Nodes.Remove(a);
        await a.DisposeAsync().AsTask().WaitAsync(Long);
        try
        {
            var online = await Eventually.UntilAsync(PresenceOnB, list => list.All(p => p.UserId != alice.Id), "alice disappears from GetPresence on node B after node A stopped");
            Assert.Contains(online, p => p.UserId == bob.Id);
            var left = bobOnB.Presence(room).Any(p => p.UserId == alice.Id && !p.Online);
            TestContext.Current.SendDiagnosticMessage($"Node stop: alice {(left ? "left cleanly (offline event on node B)" : "expired (no offline event on node B)")}; her client is {aliceOnA.Connection.State}.");
        }
        finally
        {
            await aliceOnA.DisposeAsync();
        }
    }
}
