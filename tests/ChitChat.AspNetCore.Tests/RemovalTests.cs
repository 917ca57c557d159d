using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.AspNetCore.Tests.MultiNode;
using ChitChat.Contracts;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.AspNetCore.Tests;

/// <summary>
/// Moderation takes effect at once: a <see cref="MembershipChanged"/> removal published on the transport (as the membership
/// service does after the store accepted it) takes the user's hub connections out of the room in the room's pump, mid-stream:
/// they get <c>removed</c> and nothing more of the room, stay connected for other rooms, and the others get <c>member</c>.
/// </summary>
public sealed class RemovalTests(SharedServer shared)
{
    private const int Total = 60;

    [Fact]
    public async Task A_removed_members_connections_get_removed_then_nothing_more_of_the_room_while_the_others_keep_receiving()
    {
        var server = shared.Server;
        var alice = await server.NewUserAsync("alice");
        var bob = await server.NewUserAsync("bob");
        var room = await server.NewRoomAsync(alice);
        var elsewhere = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var b1 = await bob.ConnectAsync();
        await using var b2 = await bob.ConnectAsync();
        foreach (var client in new[] { a, b1, b2 })
        {
            await client.JoinAsync(room, 0);
            await client.JoinAsync(elsewhere, 0);
        }

        var transport = server.Services.GetRequiredService<IChatTransport>();
        await SendWhileAsync(a, room, () => transport.PublishAsync(new MembershipChanged(room, bob.Id, bob.UserName, MemberRole.Member, MemberChange.Removed, Reason: "removed")).AsTask());

        await AssertRemovedAsync(room, elsewhere, a, a, [b1, b2], new MemberEvent(room, bob.Id, bob.UserName, "member", "removed"), "removed");

        // The user went offline in the room (both connections left it), not in the other room.
        await a.WaitUntilAsync(c => c.Presence(room).Any(p => p.UserId == bob.Id && !p.Online), "alice sees bob go offline in the room");
        Assert.DoesNotContain(a.Presence(elsewhere), p => p.UserId == bob.Id && !p.Online);
    }

    [Fact]
    public async Task Added_role_and_mute_changes_reach_every_member_as_member_events_and_remove_nobody()
    {
        var server = shared.Server;
        var alice = await server.NewUserAsync("alice");
        var bob = await server.NewUserAsync("bob");
        var room = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await a.JoinAsync(room, 0);
        await b.JoinAsync(room, 0);

        var transport = server.Services.GetRequiredService<IChatTransport>();
        await transport.PublishAsync(new MembershipChanged(room, bob.Id, bob.UserName, MemberRole.Moderator, MemberChange.Role)).AsTask().WaitAsync(Timeouts.Default);
        await transport.PublishAsync(new MembershipChanged(room, bob.Id, bob.UserName, MemberRole.Moderator, MemberChange.Muted, DateTimeOffset.UtcNow.AddMinutes(5))).AsTask().WaitAsync(Timeouts.Default);
        await a.SendAsync(room, "after");
        foreach (var client in new[] { a, b })
        {
            await client.WaitUntilAsync(c => c.Messages(room).Length == 1, "the message after the changes arrives");
            Assert.Equal([new MemberEvent(room, bob.Id, bob.UserName, "moderator", "role"), new MemberEvent(room, bob.Id, bob.UserName, "moderator", "muted")], Changes(client, room));
            Assert.Empty(client.Removed(room));
        }
    }

    [Fact]
    public async Task A_removal_published_on_one_node_takes_the_user_out_of_the_room_on_another_mid_stream()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (nodeA, nodeB) = (cluster.Nodes[0], cluster.Nodes[1]);
        var alice = await nodeA.NewUserAsync("alice");
        var bob = await nodeA.NewUserAsync("bob");
        var carol = await nodeA.NewUserAsync("carol");
        var room = await nodeA.NewRoomAsync(alice);
        var elsewhere = await nodeA.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await using var b = await ChitChatCluster.On(bob, nodeB).ConnectAsync();
        await using var c = await ChitChatCluster.On(carol, nodeB).ConnectAsync();
        foreach (var client in new[] { a, b, c })
        {
            await client.JoinAsync(room, 0);
            await client.JoinAsync(elsewhere, 0);
        }

        // Messages and the ban are published on node A; bob is on node B, with carol, who stays.
        var transport = nodeA.Services.GetRequiredService<IChatTransport>();
        await SendWhileAsync(a, room, () => transport.PublishAsync(new MembershipChanged(room, bob.Id, bob.UserName, MemberRole.Member, MemberChange.Banned, Reason: "spam")).AsTask());

        await AssertRemovedAsync(room, elsewhere, a, c, [b], new MemberEvent(room, bob.Id, bob.UserName, "member", "banned"), "spam");
        await a.WaitUntilAsync(x => Changes(x, room).Length == 1, "alice, on node A, receives the member event");
    }

    /// <summary>Sends <see cref="Total"/> messages; once a third are out, runs <paramref name="during"/> concurrently with
    /// the next third; the last third is sent after it.</summary>
    private static async Task SendWhileAsync(HubClient sender, string room, Func<Task> during)
    {
        var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = Task.Run(async () =>
        {
            for (var i = 1; i <= Total; i++)
            {
                await sender.SendAsync(room, $"m{i}");
                if (i == Total / 3)
                {
                    third.TrySetResult();
                }
                else if (i == 2 * Total / 3)
                {
                    await published.Task.WaitAsync(Timeouts.Default);
                }
            }
        });
        await third.Task.WaitAsync(Timeouts.Default);
        await during().WaitAsync(Timeouts.Default);
        published.TrySetResult();
        await sending.WaitAsync(Timeouts.Default);
    }

    /// <summary>
    /// The stayer (on the removed connections' node) received every message once in order and the member event exactly
    /// where the removed connections' messages end; each removed connection received an unbroken run of the first messages,
    /// then <c>removed</c>, then nothing of the room (checked after a message of another room, sent once every message of
    /// the room was handed out, reached it: SignalR keeps a connection's order).
    /// </summary>
    private static async Task AssertRemovedAsync(string room, string elsewhere, HubClient sender, HubClient stayer, HubClient[] removed, MemberEvent member, string reason)
    {
        await stayer.WaitUntilAsync(c => c.Messages(room).Length >= Total && Changes(c, room).Length >= 1, "the stayer receives every message and the member event");
        var stayed = stayer.Events(room).Where(e => e is MessageDto || (e is MemberEvent m && !IsJoin(m))).ToArray();
        Assert.Equal(Enumerable.Range(1, Total).Select(s => (long)s), stayed.OfType<MessageDto>().Select(m => m.Seq));
        Assert.Equal(member, Assert.Single(stayed.OfType<MemberEvent>()));
        var before = Array.FindIndex(stayed, e => e is MemberEvent);
        Assert.InRange(before, Total / 3, 2 * Total / 3);
        Assert.Empty(stayer.Removed(room));

        await sender.SendAsync(elsewhere, "sentinel");
        foreach (var client in removed)
        {
            await client.WaitUntilAsync(c => c.Messages(elsewhere).Length == 1, "a removed connection still receives the other room");
            var events = client.Events(room).Where(e => e is not PresenceEvent && !(e is MemberEvent m && IsJoin(m))).ToArray();
            Assert.Equal(new RemovedEvent(room, reason), Assert.IsType<RemovedEvent>(events[^1]));
            Assert.Equal(Enumerable.Range(1, before).Select(s => (long)s), events[..^1].Select(e => Assert.IsType<MessageDto>(e).Seq));
        }
    }

    /// <summary>The member events of a room other than the <c>added</c> ones that the setup's own joins cause (joining a public
    /// room over the hub makes the caller a member).</summary>
    private static MemberEvent[] Changes(HubClient client, string room) => [.. client.Members(room).Where(m => !IsJoin(m))];

    private static bool IsJoin(MemberEvent member) => member.Change == MemberChanges.Added;
}
