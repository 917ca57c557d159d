using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;

namespace ChitChat.Client.Tests;

/// <summary>The SDK's rooms, members, roles, mutes, bans, direct rooms and user directory against a real server.</summary>
public sealed class RoomAccessTests
{
    [Fact]
    public async Task A_private_room_is_run_through_the_SDK_invite_roles_mute_ban_and_unban()
    {
        await using var server = await ServerHost.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var carol = await server.ConnectAsync("carol");
        var bobName = bob.User!.UserName;
        var name = $"secret-{Guid.NewGuid().ToString("N")[..8]}";

        var room = await Wait.For(alice.CreateRoomAsync(name, "private", "plans"), "alice creates a private room");
        Assert.Equal(("private", "plans"), (room.Kind, room.Topic));
        Assert.DoesNotContain(await Wait.For(bob.GetRoomsAsync(), "bob's rooms before the invitation"), r => r.Name == name);
        var hidden = await Assert.ThrowsAsync<ChitChatException>(() => carol.GetRoomAsync(name));
        Assert.Equal(ChatErrorCodes.RoomNotFound, hidden.Code);

        var added = await Wait.For(alice.AddMemberAsync(name, bobName), "alice invites bob");
        Assert.Equal((bobName, "member"), (added.UserName, added.Role));
        var bobRooms = await Wait.For(bob.GetRoomsAsync(), "bob's rooms after the invitation");
        Assert.Equal("member", Assert.Single(bobRooms, r => r.Name == name).Role);
        Assert.DoesNotContain(await Wait.For(carol.GetRoomsAsync(), "carol's rooms"), r => r.Name == name);
        var members = await Wait.For(bob.GetMembersAsync(name), "bob lists the members");
        Assert.Equal([(alice.User!.UserName, "owner"), (bobName, "member")], members.OrderBy(m => m.Role == "owner" ? 0 : 1).Select(m => (m.UserName, m.Role)));

        Assert.Equal("moderator", (await Wait.For(alice.SetMemberRoleAsync(name, bobName, "moderator"), "alice promotes bob")).Role);
        Assert.Equal("member", (await Wait.For(alice.SetMemberRoleAsync(name, bobName, "member"), "alice demotes bob")).Role);

        var muted = await Wait.For(alice.MuteMemberAsync(name, bobName, DateTimeOffset.UtcNow.AddHours(1)), "alice mutes bob");
        Assert.NotNull(muted.MutedUntil);
        var refused = await Assert.ThrowsAsync<ChitChatException>(() => bob.SendAsync(name, "muted"));
        Assert.Equal(ChatErrorCodes.Forbidden, refused.Code);
        var promoted = await Wait.For(alice.SetMemberRoleAsync(name, bobName, "moderator"), "a role change while muted");
        Assert.Equal(("moderator", muted.MutedUntil), (promoted.Role, promoted.MutedUntil));
        await Wait.For(alice.SetMemberRoleAsync(name, bobName, "member"), "alice demotes bob again");
        Assert.Null((await Wait.For(alice.UnmuteMemberAsync(name, bobName), "alice lifts the mute")).MutedUntil);
        await Wait.For(bob.SendAsync(name, "unmuted"), "bob sends after the mute");

        await using var subscription = await Wait.For(bob.JoinRoomAsync(name), "bob joins");
        var removed = new TaskCompletionSource<RemovedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.RemovedFromRoom += (_, e) => removed.TrySetResult(e);
        await Wait.For(alice.BanAsync(name, bobName, "spam"), "alice bans bob");
        Assert.Equal(name, (await Wait.For(removed.Task, "bob's subscription is removed")).Room);
        var ban = Assert.Single(await Wait.For(alice.GetBansAsync(name), "alice lists the bans"));
        Assert.Equal((bobName, "spam", (DateTime?)null), (ban.UserName, ban.Reason, ban.Until));
        Assert.DoesNotContain(await Wait.For(bob.GetRoomsAsync(), "bob's rooms after the ban"), r => r.Name == name);
        Assert.Equal(ChatErrorCodes.RoomNotFound, (await Assert.ThrowsAsync<ChitChatException>(() => bob.GetMembersAsync(name))).Code);

        await Wait.For(alice.UnbanAsync(name, bobName), "alice lifts the ban");
        Assert.Empty(await Wait.For(alice.GetBansAsync(name), "the bans after the unban"));
        Assert.Equal(ChatErrorCodes.Forbidden, (await Assert.ThrowsAsync<ChitChatException>(() => bob.GetBansAsync("global"))).Code);
    }

    [Fact]
    public async Task Members_are_removed_and_leave_through_the_SDK()
    {
        await using var server = await ServerHost.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var name = $"team-{Guid.NewGuid().ToString("N")[..8]}";
        await Wait.For(alice.CreateRoomAsync(name, "private"), "alice creates a private room");
        await Wait.For(alice.AddMemberAsync(name, bob.User!.UserName), "alice adds bob");

        await Wait.For(alice.RemoveMemberAsync(name, bob.User.UserName), "alice removes bob");
        Assert.Equal([alice.User!.UserName], (await Wait.For(alice.GetMembersAsync(name), "members after the removal")).Select(m => m.UserName));
        var notFound = await Assert.ThrowsAsync<ChitChatException>(() => alice.RemoveMemberAsync(name, "nobody-" + Guid.NewGuid().ToString("N")[..6]));
        Assert.Equal(ChatErrorCodes.UserNotFound, notFound.Code);
        var lastOwner = await Assert.ThrowsAsync<ChitChatException>(() => alice.RemoveMemberAsync(name, alice.User.UserName));
        Assert.Equal(ChatErrorCodes.ValidationFailed, lastOwner.Code);
    }

    [Fact]
    public async Task A_direct_room_is_opened_from_the_user_directory_and_is_the_same_room_every_time()
    {
        await using var server = await ServerHost.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var bobName = bob.User!.UserName;

        var found = await Wait.For(alice.SearchUsersAsync(bobName[..^2], limit: 5), "alice searches the directory");
        Assert.Equal(bob.User.Id, Assert.Single(found, u => u.UserName == bobName).Id);
        Assert.Empty(await Wait.For(alice.SearchUsersAsync("zz-no-such-user"), "a search without a match"));

        var direct = await Wait.For(alice.OpenDirectAsync([bobName]), "alice opens a direct room");
        Assert.Equal("direct", direct.Kind);
        Assert.StartsWith("dm-", direct.Name, StringComparison.Ordinal);
        Assert.Equal(direct.Id, (await Wait.For(bob.OpenDirectAsync([alice.User!.UserName]), "bob opens the same direct room")).Id);
        Assert.Contains(await Wait.For(bob.GetRoomsAsync(), "bob's rooms"), r => r.Name == direct.Name && r.Kind == "direct");

        await using var subscription = await Wait.For(bob.JoinRoomAsync(direct.Name, afterSeq: 0), "bob joins the direct room");
        var events = new EventCollector(subscription);
        var ack = await Wait.For(alice.SendAsync(direct.Name, "hi bob"), "alice writes to bob");
        await events.WaitForSeqAsync(ack.Seq, "bob receives alice's direct message");
        Assert.Equal("hi bob", events.Messages[^1].Text);

        var unknown = await Assert.ThrowsAsync<ChitChatException>(() => alice.OpenDirectAsync(["nobody-" + Guid.NewGuid().ToString("N")[..6]]));
        Assert.Equal(ChatErrorCodes.UserNotFound, unknown.Code);
    }
}
