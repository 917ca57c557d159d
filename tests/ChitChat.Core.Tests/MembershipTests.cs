using ChitChat.Contracts;
using ChitChat.Membership;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.Core.Tests;

/// <summary>The version 2 membership rules of <see cref="MembershipService"/> and <see cref="RoomService"/>, on the in-memory store.</summary>
public sealed class MembershipTests
{
    private static RoomName R(string name) => RoomName.Parse(name);

    private static MembershipService M(ChatHarness h) => h.Services.GetRequiredService<MembershipService>();

    private static async Task<(ChatHarness H, ChatIdentity Owner, ChatIdentity Bob, ChatIdentity Carol)> PrivateRoomAsync(string room = "secret")
    {
        var h = await ChatHarness.CreateAsync();
        var owner = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        var carol = await h.UserAsync("carol");
        await h.Rooms.CreateAsync(R(room), owner, RoomKind.Private).Timed();
        return (h, owner, bob, carol);
    }

    [Fact]
    public async Task A_private_room_is_invisible_to_non_members_with_the_text_of_a_missing_room()
    {
        var (h, _, bob, _) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);

        var hidden = await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.GetAccessAsync(bob, R("secret")));
        var missing = await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.GetAccessAsync(bob, R("nothing-here")));
        Assert.Equal(missing.Message.Replace("nothing-here", "secret", StringComparison.Ordinal), hidden.Message);

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.SendAsync(bob, "secret", "hi", null));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.JoinAsync(bob, R("secret")));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.ListMembersAsync(bob, R("secret")));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.AddMemberAsync(bob, R("secret"), "bob"));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.BanAsync(bob, R("secret"), "alice", null, null));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.Rooms.UpdateTopicAsync(bob, R("secret"), "mine"));
        Assert.DoesNotContain(await m.ListRoomsAsync(bob).Timed(), e => e.Room.Name == "secret");
        Assert.Equal(0, await h.LastSeqAsync("secret"));
    }

    [Fact]
    public async Task Creating_a_name_that_a_private_room_has_is_room_exists_and_dm_names_are_reserved()
    {
        var (h, _, bob, _) = await PrivateRoomAsync();
        await using var _h = h;
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomExists, () => h.Rooms.CreateAsync(R("secret"), bob));
        var reserved = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Rooms.CreateAsync(R("dm-mine"), bob));
        Assert.Equal(["name"], reserved.Errors!.Keys);
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Rooms.CreateAsync(R("direct-by-hand"), bob, RoomKind.Direct));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Rooms.CreateAsync(R("long-topic"), bob, RoomKind.Public, new string('t', 513)));
        Assert.Null(await h.Store.Rooms.FindByNameAsync("long-topic").Timed());
    }

    [Fact]
    public async Task The_creator_is_owner_and_adds_members_who_then_see_the_room()
    {
        var (h, alice, bob, _) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);

        var (added, created) = await m.AddMemberAsync(alice, R("secret"), "BOB").Timed();
        Assert.True(created);
        Assert.Equal((bob.UserId, MemberRole.Member, MembershipState.Member), (added.UserId, added.Role, added.State));
        var (again, createdAgain) = await m.AddMemberAsync(alice, R("secret"), "bob").Timed();
        Assert.False(createdAgain);
        Assert.Equal(added, again);

        await h.SendAsync(bob, "secret", "hello", null).Timed();
        Assert.Contains(await m.ListRoomsAsync(bob).Timed(), e => e.Room.Name == "secret" && e.Role == MemberRole.Member);
        Assert.Equal([MemberRole.Owner, MemberRole.Member], (await m.ListMembersAsync(bob, R("secret")).Timed()).Select(x => x.Role));
        var events = h.Transport.PublishedOf<ChitChat.Transport.MembershipChanged>();
        Assert.Contains(events, e => e.Room == "secret" && e.UserId == alice.UserId && e.Change == ChitChat.Transport.MemberChange.Added && e.Role == MemberRole.Owner);
        Assert.Single(events, e => e.Room == "secret" && e.UserId == bob.UserId && e.Change == ChitChat.Transport.MemberChange.Added);
    }

    [Fact]
    public async Task A_plain_member_cannot_add_moderate_or_change_roles()
    {
        var (h, alice, bob, carol) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);
        await m.AddMemberAsync(alice, R("secret"), "bob").Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.AddMemberAsync(bob, R("secret"), "carol"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.RemoveMemberAsync(bob, R("secret"), "alice"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.BanAsync(bob, R("secret"), "alice", null, null));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.UpdateMemberAsync(bob, R("secret"), "bob", new MemberUpdate(MemberRole.Owner, false, null)));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Rooms.UpdateTopicAsync(bob, R("secret"), "x"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.ListBansAsync(bob, R("secret")));
        Assert.Equal(2, await h.Store.Memberships.CountMembersAsync("secret").Timed());
        Assert.Null(await h.Store.Memberships.FindAsync("secret", carol.UserId).Timed());
    }

    [Fact]
    public async Task Unknown_users_and_non_member_targets_are_user_not_found()
    {
        var (h, alice, bob, _) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);

        await Wait.ChatErrorAsync(ChatErrorCodes.UserNotFound, () => m.AddMemberAsync(alice, R("secret"), "nobody"));
        await Wait.ChatErrorAsync(ChatErrorCodes.UserNotFound, () => m.RemoveMemberAsync(alice, R("secret"), "bob"));
        await Wait.ChatErrorAsync(ChatErrorCodes.UserNotFound, () => m.UpdateMemberAsync(alice, R("secret"), "bob", new MemberUpdate(MemberRole.Moderator, false, null)));
        await Wait.ChatErrorAsync(ChatErrorCodes.UserNotFound, () => m.UnbanAsync(alice, R("secret"), "bob"));
        await Wait.ChatErrorAsync(ChatErrorCodes.UserNotFound, () => m.GetOrCreateDirectAsync(alice, ["bob", "nobody"]));
        Assert.Null(await h.Store.Memberships.FindAsync("secret", bob.UserId).Timed());
    }

    [Fact]
    public async Task The_last_owner_cannot_leave_or_be_demoted_and_nobody_promotes_themselves()
    {
        var (h, alice, bob, _) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);
        await m.AddMemberAsync(alice, R("secret"), "bob").Timed();
        await m.UpdateMemberAsync(alice, R("secret"), "bob", new MemberUpdate(MemberRole.Moderator, false, null)).Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.RemoveMemberAsync(alice, R("secret"), "alice"));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.UpdateMemberAsync(alice, R("secret"), "alice", new MemberUpdate(MemberRole.Member, false, null)));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.UpdateMemberAsync(bob, R("secret"), "bob", new MemberUpdate(MemberRole.Owner, false, null)));
        Assert.Equal(MemberRole.Owner, (await h.Store.Memberships.FindAsync("secret", alice.UserId).Timed())!.Role);
        Assert.Equal(MemberRole.Moderator, (await h.Store.Memberships.FindAsync("secret", bob.UserId).Timed())!.Role);

        // With a second owner the first may leave.
        await m.UpdateMemberAsync(alice, R("secret"), "bob", new MemberUpdate(MemberRole.Owner, false, null)).Timed();
        await m.RemoveMemberAsync(alice, R("secret"), "alice").Timed();
        Assert.Equal(MembershipState.Left, (await h.Store.Memberships.FindAsync("secret", alice.UserId).Timed())!.State);
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.GetAccessAsync(alice, R("secret")));
    }

    [Fact]
    public async Task Two_owners_demoting_each_other_at_once_one_wins_and_one_owner_remains()
    {
        for (var round = 0; round < 20; round++)
        {
            await using var h = await ChatHarness.CreateAsync();
            var alice = await h.UserAsync("alice");
            var bob = await h.UserAsync("bob");
            await h.Rooms.CreateAsync(R("duel"), alice).Timed();
            var m = M(h);
            await m.AddMemberAsync(alice, R("duel"), "bob").Timed();
            await m.UpdateMemberAsync(alice, R("duel"), "bob", new MemberUpdate(MemberRole.Owner, false, null)).Timed();

            var a = Task.Run(() => m.UpdateMemberAsync(alice, R("duel"), "bob", new MemberUpdate(MemberRole.Member, false, null)));
            var b = Task.Run(() => m.UpdateMemberAsync(bob, R("duel"), "alice", new MemberUpdate(MemberRole.Member, false, null)));
            var outcomes = new List<string>();
            foreach (var t in new[] { a, b })
            {
                try
                {
                    await t.Timed();
                    outcomes.Add("ok");
                }
                catch (ChatException ex)
                {
                    outcomes.Add(ex.Code);
                }
            }

            Assert.Equal(["forbidden", "ok"], outcomes.Order());
            var members = await h.Store.Memberships.ListMembersAsync("duel").Timed();
            Assert.Single(members, x => x.Role == MemberRole.Owner);
        }
    }

    [Fact]
    public async Task Moderators_cannot_act_on_owners_or_other_moderators()
    {
        var (h, alice, bob, carol) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);
        await m.AddMemberAsync(alice, R("secret"), "bob").Timed();
        await m.AddMemberAsync(alice, R("secret"), "carol").Timed();
        await m.UpdateMemberAsync(alice, R("secret"), "bob", new MemberUpdate(MemberRole.Moderator, false, null)).Timed();
        await m.UpdateMemberAsync(alice, R("secret"), "carol", new MemberUpdate(MemberRole.Moderator, false, null)).Timed();
        var future = DateTimeOffset.UtcNow.AddHours(1);

        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.RemoveMemberAsync(bob, R("secret"), "alice"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.RemoveMemberAsync(bob, R("secret"), "carol"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.UpdateMemberAsync(bob, R("secret"), "carol", new MemberUpdate(null, true, future)));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.BanAsync(bob, R("secret"), "alice", null, "coup"));
        Assert.Equal(3, await h.Store.Memberships.CountMembersAsync("secret").Timed());
        Assert.Empty(await h.Store.Memberships.ListBansAsync("secret", DateTimeOffset.UtcNow).Timed());
        _ = carol;
    }

    [Fact]
    public async Task A_mute_blocks_sending_until_lifted_and_a_role_and_mute_change_is_all_or_nothing()
    {
        var (h, alice, bob, carol) = await PrivateRoomAsync();
        await using var _h = h;
        var m = M(h);
        await m.AddMemberAsync(alice, R("secret"), "bob").Timed();
        var until = DateTimeOffset.UtcNow.AddHours(1);

        var muted = await m.UpdateMemberAsync(alice, R("secret"), "bob", new MemberUpdate(null, true, until)).Timed();
        Assert.Equal(until, muted.MutedUntil);
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.SendAsync(bob, "secret", "let me speak", null));
        Assert.Equal(0, await h.LastSeqAsync("secret"));
        Assert.Contains(h.Transport.PublishedOf<ChitChat.Transport.MembershipChanged>(), e => e.Change == ChitChat.Transport.MemberChange.Muted && e.MutedUntil == until);

        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.UpdateMemberAsync(alice, R("secret"), "bob", new MemberUpdate(null, true, DateTimeOffset.UtcNow.AddMinutes(-1))));

        // Carol (a moderator) may mute but not change roles: the combined change is refused and nothing of it is stored.
        await m.AddMemberAsync(alice, R("secret"), "carol").Timed();
        await m.UpdateMemberAsync(alice, R("secret"), "carol", new MemberUpdate(MemberRole.Moderator, false, null)).Timed();
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.UpdateMemberAsync(carol, R("secret"), "bob", new MemberUpdate(MemberRole.Moderator, true, null)));
        var stored = await h.Store.Memberships.FindAsync("secret", bob.UserId).Timed();
        Assert.Equal((MemberRole.Member, (DateTimeOffset?)until), (stored!.Role, stored.MutedUntil));

        await m.UpdateMemberAsync(carol, R("secret"), "bob", new MemberUpdate(null, true, null)).Timed();
        await h.SendAsync(bob, "secret", "thanks", null).Timed();
        Assert.Equal(1, await h.LastSeqAsync("secret"));
    }

    [Fact]
    public async Task A_ban_removes_bars_and_is_forbidden_on_public_rooms_but_invisible_on_private_ones()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        var m = M(h);
        await h.Rooms.CreateAsync(R("town"), alice).Timed();
        await h.Rooms.CreateAsync(R("club"), alice, RoomKind.Private).Timed();
        await m.JoinAsync(bob, R("town")).Timed();
        await m.AddMemberAsync(alice, R("club"), "bob").Timed();

        await m.BanAsync(alice, R("town"), "bob", null, "spam").Timed();
        await m.BanAsync(alice, R("club"), "bob", DateTimeOffset.UtcNow.AddDays(1), null).Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.SendAsync(bob, "town", "hi", null));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.JoinAsync(bob, R("town")));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.GetRoomAsync(bob, R("town")));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.SendAsync(bob, "club", "hi", null));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.JoinAsync(bob, R("club")));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.AddMemberAsync(alice, R("club"), "bob"));
        Assert.Equal(["bob"], (await m.ListBansAsync(alice, R("town")).Timed()).Select(b => b.UserName));
        Assert.Equal("spam", (await m.ListBansAsync(alice, R("town")).Timed())[0].BanReason);
        Assert.Contains(h.Transport.PublishedOf<ChitChat.Transport.MembershipChanged>(), e => e.Room == "town" && e.Change == ChitChat.Transport.MemberChange.Banned && e.Reason == "spam");

        await m.UnbanAsync(alice, R("town"), "bob").Timed();
        await m.JoinAsync(bob, R("town")).Timed();
        await h.SendAsync(bob, "town", "back", null).Timed();
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.BanAsync(alice, R("town"), "alice", null, null));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.BanAsync(alice, R("town"), "bob", DateTimeOffset.UtcNow.AddSeconds(-1), null));
    }

    [Fact]
    public async Task A_ban_racing_a_send_either_stores_the_message_before_the_ban_or_refuses_it()
    {
        for (var round = 0; round < 20; round++)
        {
            await using var h = await ChatHarness.CreateAsync();
            var alice = await h.UserAsync("alice");
            var bob = await h.UserAsync("bob");
            var m = M(h);
            await h.Rooms.CreateAsync(R("race"), alice).Timed();
            await m.JoinAsync(bob, R("race")).Timed();

            var send = Task.Run(() => h.SendAsync(bob, "race", "quick", null));
            var ban = Task.Run(() => m.BanAsync(alice, R("race"), "bob", null, null));
            await ban.Timed();
            try
            {
                await send.Timed();
                Assert.Equal(1, await h.LastSeqAsync("race"));
            }
            catch (ChatException ex)
            {
                Assert.Equal(ChatErrorCodes.Forbidden, ex.Code);
                Assert.Equal(0, await h.LastSeqAsync("race"));
            }

            // After the ban, always refused; the ban is stored whole.
            await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.SendAsync(bob, "race", "again", null));
            var stored = await h.Store.Memberships.FindAsync("race", bob.UserId).Timed();
            Assert.Equal(MembershipState.Banned, stored!.State);
        }
    }

    [Fact]
    public async Task Sending_or_joining_a_public_room_makes_the_user_a_member()
    {
        await using var h = await ChatHarness.CreateAsync();
        var bob = await h.UserAsync("bob");
        var carol = await h.UserAsync("carol");
        var m = M(h);
        Assert.Null((await m.ListRoomsAsync(bob).Timed()).Single(e => e.Room.Name == "global").Role);

        await h.SendAsync(bob, "global", "hi", null).Timed();
        await m.JoinAsync(carol, R("global")).Timed();

        Assert.Equal(MemberRole.Member, (await m.ListRoomsAsync(bob).Timed()).Single(e => e.Room.Name == "global").Role);
        Assert.Equal(2, (await m.GetRoomAsync(carol, R("global")).Timed()).MemberCount);
        Assert.Equal(RoomKind.Public, (await m.GetRoomAsync(carol, R("global")).Timed()).Room.Kind);
    }

    [Fact]
    public async Task Direct_rooms_are_one_per_set_of_people_fixed_and_without_moderation()
    {
        await using var h = await ChatHarness.CreateAsync(o => o.MaxDirectMembers = 3);
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        var carol = await h.UserAsync("carol");
        var dave = await h.UserAsync("dave");
        var m = M(h);

        var (room, created) = await m.GetOrCreateDirectAsync(alice, ["bob"]).Timed();
        Assert.True(created);
        Assert.Equal(RoomKind.Direct, room.Kind);
        Assert.Equal(ChatRoom.DirectRoomName([alice.UserId, bob.UserId]), room.Name);
        var (same, createdAgain) = await m.GetOrCreateDirectAsync(bob, ["ALICE", "bob"]).Timed();
        Assert.False(createdAgain);
        Assert.Equal(room.Id, same.Id);
        Assert.All(await h.Store.Memberships.ListMembersAsync(room.Name).Timed(), x => Assert.Equal(MemberRole.Member, x.Role));

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => m.GetAccessAsync(carol, R(room.Name)));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.AddMemberAsync(alice, R(room.Name), "carol"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.BanAsync(alice, R(room.Name), "bob", null, null));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => m.RemoveMemberAsync(alice, R(room.Name), "alice"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Rooms.UpdateTopicAsync(alice, R(room.Name), "us"));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.GetOrCreateDirectAsync(alice, ["alice"]));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.GetOrCreateDirectAsync(alice, []));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => m.GetOrCreateDirectAsync(alice, ["bob", "carol", "dave"]));
        Assert.Equal(2, await h.Store.Memberships.CountMembersAsync(room.Name).Timed());
        _ = dave;
    }

    [Fact]
    public async Task Concurrent_creations_of_the_same_direct_room_all_get_the_one_room()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        await h.UserAsync("bob");
        var m = M(h);
        var all = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => m.GetOrCreateDirectAsync(alice, ["bob"])))).Timed();
        Assert.Single(all.Select(r => r.Room.Id).Distinct());
        Assert.Single(all, r => r.Created);
    }

    [Fact]
    public async Task The_topic_is_changed_by_owners_and_moderators_and_served_fresh()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var bob = await h.UserAsync("bob");
        var m = M(h);
        await h.Rooms.CreateAsync(R("news"), alice, RoomKind.Public, "  first  ").Timed();
        Assert.Equal("first", (await m.GetRoomAsync(bob, R("news")).Timed()).Room.Topic);
        await m.JoinAsync(bob, R("news")).Timed();
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Rooms.UpdateTopicAsync(bob, R("news"), "bob's"));
        await m.UpdateMemberAsync(alice, R("news"), "bob", new MemberUpdate(MemberRole.Moderator, false, null)).Timed();
        var updated = await h.Rooms.UpdateTopicAsync(bob, R("news"), "second").Timed();
        Assert.Equal("second", updated.Topic);
        Assert.Equal("second", (await m.GetRoomAsync(alice, R("news")).Timed()).Room.Topic);
        Assert.Null((await h.Rooms.UpdateTopicAsync(alice, R("news"), "").Timed()).Topic);
    }
}
