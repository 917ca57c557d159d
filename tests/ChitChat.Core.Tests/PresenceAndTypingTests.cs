using ChitChat.Transport;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class PresenceAndTypingTests
{
    [Fact]
    public async Task Two_connections_of_one_user_announce_online_once_and_offline_after_both_leave()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "conn-1", alice).Timed();
        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "conn-2", alice).Timed();

        Assert.Equal([new PresenceChanged("global", alice.UserId, "alice", true)], h.Transport.PublishedOf<PresenceChanged>());
        Assert.Equal([new OnlineUser(alice.UserId, "alice")], await h.Presence.GetOnlineAsync(RoomName.Parse("GLOBAL")).Timed());

        await h.Presence.ExitRoomAsync(RoomName.Parse("global"), "conn-1", alice).Timed();

        Assert.Single(h.Transport.PublishedOf<PresenceChanged>());
        Assert.Equal([new OnlineUser(alice.UserId, "alice")], await h.Presence.GetOnlineAsync(RoomName.Parse("global")).Timed());

        await h.Presence.ExitRoomAsync(RoomName.Parse("global"), "conn-2", alice).Timed();

        Assert.Equal(
            [new PresenceChanged("global", alice.UserId, "alice", true), new PresenceChanged("global", alice.UserId, "alice", false)],
            h.Transport.PublishedOf<PresenceChanged>());
        Assert.Empty(await h.Presence.GetOnlineAsync(RoomName.Parse("global")).Timed());
    }

    [Fact]
    public async Task Leaving_with_an_unknown_connection_announces_nothing()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "conn-1", alice).Timed();

        await h.Presence.ExitRoomAsync(RoomName.Parse("global"), "conn-unknown", alice).Timed();
        await h.Presence.ExitRoomAsync(RoomName.Parse("global"), "conn-1", bob).Timed();
        await h.Presence.ExitRoomAsync(RoomName.Parse("global"), "conn-9", bob).Timed();

        Assert.Single(h.Transport.Published);
        Assert.Equal([new OnlineUser(alice.UserId, "alice")], await h.Presence.GetOnlineAsync(RoomName.Parse("global")).Timed());
    }

    [Fact]
    public async Task Presence_lists_each_user_of_the_room_once_ordered_by_name()
    {
        await using var h = await ChatHarness.CreateAsync();
        var carol = await h.UserAsync("carol");
        var alice = await h.UserAsync("Alice");
        var bob = await h.UserAsync("bob");
        await h.CreateRoomAsync("other", alice).Timed();

        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "c1", carol).Timed();
        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "b1", bob).Timed();
        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "a1", alice).Timed();
        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "a2", alice).Timed();
        await h.Presence.EnterRoomAsync(RoomName.Parse("other"), "b1", bob).Timed();

        Assert.Equal(["Alice", "bob", "carol"], (await h.Presence.GetOnlineAsync(RoomName.Parse("global")).Timed()).Select(u => u.UserName));
        Assert.Equal(["bob"], (await h.Presence.GetOnlineAsync(RoomName.Parse("other")).Timed()).Select(u => u.UserName));
    }

    [Fact]
    public async Task A_presence_publish_failure_does_not_fail_entering()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        h.Transport.Fail = true;

        await h.Presence.EnterRoomAsync(RoomName.Parse("global"), "conn-1", alice).Timed();

        Assert.Equal([new OnlineUser(alice.UserId, "alice")], await h.Presence.GetOnlineAsync(RoomName.Parse("global")).Timed());
    }

    [Fact]
    public async Task Typing_publishes_user_typing_to_the_room()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        await h.Presence.TypingAsync(alice, RoomName.Parse("Global")).Timed();

        Assert.Equal([new UserTyping("global", alice.UserId, "alice")], h.Transport.Published);
    }

    [Fact]
    public async Task Typing_in_an_unknown_room_is_room_not_found_and_publishes_nothing()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.Presence.TypingAsync(alice, RoomName.Parse("nowhere")));

        Assert.Empty(h.Transport.Published);
    }
}
