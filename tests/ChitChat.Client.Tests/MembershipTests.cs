using System.Threading.Channels;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Testing;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.Client.Tests;

/// <summary>The <c>member</c> and <c>removed</c> hub events (the server side publishes a <see cref="MembershipChanged"/> on its transport).</summary>
public sealed class MembershipTests
{
    [Fact]
    public async Task A_removed_user_s_subscription_ends_after_the_messages_before_others_see_the_member_event_and_a_reconnect_does_not_rejoin_it()
    {
        await using var server = await ServerHost.StartAsync();
        await using var proxy = new TcpProxy(server.Address);
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", via: proxy.Address);
        var room = await ServerHost.NewRoomAsync(bob);
        var other = await ServerHost.NewRoomAsync(bob);
        var states = new StateRecorder(alice);

        var bobMembers = Channel.CreateUnbounded<MemberEvent>();
        bob.MemberChanged += (_, e) => bobMembers.Writer.TryWrite(e);
        await using var bobSubscription = await Wait.For(bob.JoinRoomAsync(room, afterSeq: 0), "bob joins");

        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins the room she is removed from");
        var otherSubscription = await Wait.For(alice.JoinRoomAsync(other, afterSeq: 0), "alice joins the other room");
        var events = new EventCollector(subscription);
        var otherEvents = new EventCollector(otherSubscription);
        var removedRaised = new TaskCompletionSource<RemovedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.RemovedFromRoom += (_, e) => removedRaised.TrySetResult(e);

        for (var i = 1; i <= 3; i++)
        {
            await Wait.For(bob.SendAsync(room, $"before {i}"), "bob sends before the removal");
        }

        await events.WaitForSeqAsync(3, "alice receives the messages before the removal");
        Assert.Null(subscription.Removed);

        var user = alice.User ?? throw new InvalidOperationException("alice is not logged in");
        var transport = server.Services.GetRequiredService<IChatTransport>();
        await transport.PublishAsync(new MembershipChanged(room, user.Id, user.UserName, MemberRole.Member, MemberChange.Removed, Reason: "removed"));

        var removed = await Wait.For(removedRaised.Task, "alice's subscription raises RemovedFromRoom");
        await Wait.For(events.Pump, "alice's ReadEventsAsync completes");
        Assert.Equal(new RemovedEvent(room, "removed"), removed);
        Assert.Equal(removed, subscription.Removed);
        Assert.Null(subscription.Error);
        Assert.Equal([1L, 2L, 3L], events.Seqs);
        Assert.Equal([other], alice.Rooms.Select(r => r.Room));

        // Joining a public room over the hub makes alice a member: bob may first see her "added" event.
        var member = await Wait.For(NextChangeAsync(bobMembers.Reader), "bob receives the member event");
        Assert.Equal((room, user.Id, user.UserName, MemberChanges.Removed), (member.Room, member.UserId, member.UserName, member.Change));

        // After a cut and a reconnect, only the other room is re-joined; the removed one stays ended.
        proxy.Cut();
        await states.WaitForAsync(s => s.State == ChitChatConnectionState.Reconnecting, "alice notices the cut");
        proxy.Resume();
        await states.WaitForAsync(s => s.IsReconnect, "alice reconnects and re-joins");
        var sent = await Wait.For(bob.SendAsync(other, "after the reconnect"), "bob sends to the other room");
        await otherEvents.WaitForSeqAsync(sent.Seq, "alice receives the other room after the reconnect");
        await Wait.For(bob.SendAsync(room, "after the removal"), "bob sends to the room alice was removed from");

        Assert.Equal([other], alice.Rooms.Select(r => r.Room));
        Assert.Null(otherSubscription.Removed);
        Assert.Null(otherSubscription.Error);
        Assert.Equal([1L, 2L, 3L], events.Seqs);
        Assert.Equal(removed, subscription.Removed);
        Assert.Null(subscription.Error);
        var presence = await Wait.For(bob.GetPresenceAsync(room), "bob reads the room's presence");
        Assert.DoesNotContain(presence, p => p.UserId == user.Id);
    }

    private static async Task<MemberEvent> NextChangeAsync(ChannelReader<MemberEvent> reader)
    {
        while (true)
        {
            var member = await reader.ReadAsync();
            if (member.Change != MemberChanges.Added)
            {
                return member;
            }
        }
    }
}
