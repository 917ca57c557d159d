using System.Net;
using System.Net.Http.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests.MultiNode;

/// <summary>Protocol version 2's message lifecycle across two real nodes sharing one redis-server and one SQLite file.</summary>
public sealed class MultiNodeLifecycleTests
{
    [Fact]
    public async Task An_edit_on_node_A_reaches_a_member_on_node_B_in_seq_order_and_a_mark_read_on_A_reaches_the_users_connection_on_B()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var alice = await a.NewUserAsync("mnl");
        var bob = await a.NewUserAsync("mnl");
        var room = await a.NewRoomAsync(alice);
        await using var onA = await ChitChatCluster.On(alice, a).ConnectAsync();
        await using var onB = await ChitChatCluster.On(bob, b).ConnectAsync();
        await using var alicesOtherDevice = await ChitChatCluster.On(alice, b).ConnectAsync(); // joins nothing
        await onA.JoinAsync(room);
        await onB.JoinAsync(room);

        var ack = await onA.SendAsync(room, "typo");
        var edited = await onA.Connection.InvokeAsync<MessageDto>(HubMethods.EditMessage, room, ack.Id, "fixed").WaitAsync(Timeouts.Default);
        Assert.Equal("fixed", edited.Text);
        await onA.Connection.InvokeAsync(HubMethods.React, room, ack.Id, "👍").WaitAsync(Timeouts.Default);
        await onB.WaitUntilAsync(c => c.Sequenced(room).Length == 3, "node B's member receives the message, the edit and the reaction");
        Assert.Equal(new long[] { 1, 2, 3 }, onB.Sequenced(room));
        var updates = onB.Updates(room);
        Assert.Equal(("fixed", MessageChanges.Edited), (updates[0].Message.Text, updates[0].Change));
        Assert.Equal([alice.Id], updates[1].Message.Reactions.Single().UserIds);

        // A reconnect on node B with the last seq seen gets only what came after, including updates.
        await using var bobAgain = await ChitChatCluster.On(bob, b).ConnectAsync();
        await onA.Connection.InvokeAsync(HubMethods.DeleteMessage, room, ack.Id).WaitAsync(Timeouts.Default);
        var join = await bobAgain.JoinAsync(room, 3);
        Assert.Empty(join.Missed);
        Assert.Equal((4L, MessageChanges.Deleted), (Assert.Single(join.Updates).Seq, join.Updates[0].Change));

        await onA.Connection.InvokeAsync(HubMethods.MarkRead, room, 4L).WaitAsync(Timeouts.Default);
        await alicesOtherDevice.WaitUntilAsync(c => c.Reads(room).Length == 1, "alice's device on node B hears of the marker moved on node A");
        Assert.Equal(4, alicesOtherDevice.Reads(room)[0].Seq);

        // Mentions reach the mentioned user's connection on the other node, outside the room.
        await using var bobsPhone = await ChitChatCluster.On(bob, b).ConnectAsync();
        var mention = await onA.SendAsync(room, $"ping @{bob.UserName}");
        await bobsPhone.WaitUntilAsync(c => c.MentionEvents(room).Length == 1, "bob's phone on node B is told of the mention");
        Assert.Equal(mention.Id, bobsPhone.MentionEvents(room)[0].Message.Id);

        using var http = ChitChatCluster.On(bob, b).Http();
        var list = await http.GetFromJsonAsync<RoomListEntryDto[]>(ChitChatRoutes.Rooms, ChitChatServer.Json).WaitAsync(Timeouts.Default);
        var entry = list!.Single(r => r.Name == room);
        Assert.Equal((5L, 0L, 1L, 1L), (entry.LastSeq, entry.LastReadSeq, entry.Unread, entry.Mentions));
        using var search = await http.GetAsync($"{ChitChatRoutes.Search}?q=ping").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
    }
}
