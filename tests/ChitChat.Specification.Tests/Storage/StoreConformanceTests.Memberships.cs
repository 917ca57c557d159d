using ChitChat.Storage;

namespace ChitChat.Specification.Tests;

/// <summary>Rooms of every kind, memberships, roles, mutes, bans, the room list and the user directory (protocol version 2).</summary>
public abstract partial class StoreConformanceTests
{
    // ---------- rooms with members ----------

    [Fact]
    public async Task A_room_is_created_with_its_members_in_one_step_and_round_trips_kind_and_topic()
    {
        var (owner, member) = (NewUser("owner"), NewUser("member"));
        var room = NewRoom("secret") with { Kind = RoomKind.Private, Topic = "Plans — ünïcode ✓", CreatedBy = owner.Id };
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(room, [Join("secret", member), Join("secret", owner, MemberRole.Owner)]).WaitAsync(Timeout));

        Assert.Equal(room, await Store.Rooms.FindByNameAsync("secret").WaitAsync(Timeout));
        Assert.Equal(Join("secret", owner, MemberRole.Owner), await Store.Memberships.FindAsync("secret", owner.Id).WaitAsync(Timeout));
        Assert.Equal([owner.Id, member.Id], (await Store.Memberships.ListMembersAsync("secret").WaitAsync(Timeout)).Select(m => m.UserId));
        Assert.Equal(2, await Store.Memberships.CountMembersAsync("secret").WaitAsync(Timeout));
        Assert.Null(await Store.Memberships.FindAsync("secret", Guid.NewGuid()).WaitAsync(Timeout));
        Assert.Empty(await Store.Memberships.ListMembersAsync("nowhere").WaitAsync(Timeout));

        // A taken name writes nothing, not even the members.
        var intruder = NewUser("intruder");
        Assert.False(await Store.Rooms.TryCreateWithMembersAsync(NewRoom("secret"), [Join("secret", intruder, MemberRole.Owner)]).WaitAsync(Timeout));
        Assert.Null(await Store.Memberships.FindAsync("secret", intruder.Id).WaitAsync(Timeout));

        // Rooms created without a kind are public.
        Assert.True(await Store.Rooms.TryCreateAsync(NewRoom("plain")).WaitAsync(Timeout));
        var plain = await Store.Rooms.FindByNameAsync("plain").WaitAsync(Timeout);
        Assert.Equal(RoomKind.Public, plain!.Kind);
        Assert.Null(plain.Topic);
        Assert.Equal(0, plain.MembershipVersion);
    }

    [Fact]
    public async Task Invalid_initial_members_are_refused_and_nothing_is_stored()
    {
        var user = NewUser("someone");
        var head = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Rooms.TryCreateWithMembersAsync(NewRoom("bad"), [Join("other-room", user)]).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Rooms.TryCreateWithMembersAsync(NewRoom("bad"), [Join("bad", user), Join("bad", user, MemberRole.Owner)]).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Rooms.TryCreateWithMembersAsync(NewRoom("bad"), [Join("bad", user) with { Version = 0 }]).WaitAsync(Timeout));
        Assert.Null(await Store.Rooms.FindByNameAsync("bad").WaitAsync(Timeout));
        Assert.Null(await Store.Memberships.FindAsync("bad", user.Id).WaitAsync(Timeout));
        Assert.Equal(head, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Two_nodes_creating_one_direct_room_at_once_leave_exactly_one_room_with_the_winners_members_only()
    {
        for (var round = 0; round < 10; round++)
        {
            var (a, b, c) = (NewUser($"a{round}"), NewUser($"b{round}"), NewUser($"c{round}"));
            var name = ChatRoom.DirectRoomName([a.Id, b.Id]);
            Assert.Equal(name, ChatRoom.DirectRoomName([b.Id, a.Id, b.Id]));
            var first = NewRoom(name) with { Kind = RoomKind.Direct };
            var second = NewRoom(name) with { Kind = RoomKind.Direct };
            IReadOnlyList<RoomMembership> firstMembers = [Join(name, a), Join(name, b)];
            IReadOnlyList<RoomMembership> secondMembers = [Join(name, b) with { UserName = "b-by-second" }, Join(name, a) with { UserName = "a-by-second" }, Join(name, c)];

            var results = await Task.WhenAll(
                Task.Run(() => Store.Rooms.TryCreateWithMembersAsync(first, firstMembers)),
                Task.Run(() => Store.Rooms.TryCreateWithMembersAsync(second, secondMembers))).WaitAsync(Timeout);

            Assert.Equal(1, results.Count(r => r));
            var (winner, winnerMembers) = results[0] ? (first, firstMembers) : (second, secondMembers);
            Assert.Equal(winner, await Store.Rooms.FindByNameAsync(name).WaitAsync(Timeout));
            var members = await Store.Memberships.ListMembersAsync(name).WaitAsync(Timeout);
            Assert.Equal(winnerMembers.OrderBy(m => m.UserName, StringComparer.Ordinal), members);
            Assert.Equal(winnerMembers.Count, await Store.Memberships.CountMembersAsync(name).WaitAsync(Timeout));
        }
    }

    // ---------- compare-and-set ----------

    [Fact]
    public async Task Two_concurrent_conflicting_membership_changes_on_one_version_apply_exactly_once()
    {
        for (var round = 0; round < 10; round++)
        {
            var name = $"duel-{round}";
            var (a, b) = (NewUser($"a{round}"), NewUser($"b{round}"));
            var ownerA = Join(name, a, MemberRole.Owner);
            var ownerB = Join(name, b, MemberRole.Owner);
            Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom(name), [ownerA, ownerB]).WaitAsync(Timeout));
            var room = (await Store.Rooms.FindByNameAsync(name).WaitAsync(Timeout))!;

            // Each owner demotes the other, both decided on the same state.
            var demoteB = ownerB.Next(Now.AddMinutes(1), m => m with { Role = MemberRole.Member });
            var demoteA = ownerA.Next(Now.AddMinutes(1), m => m with { Role = MemberRole.Member });
            var results = await Task.WhenAll(
                Task.Run(() => Store.Memberships.TryApplyAsync(name, room.MembershipVersion, [demoteB])),
                Task.Run(() => Store.Memberships.TryApplyAsync(name, room.MembershipVersion, [demoteA]))).WaitAsync(Timeout);

            Assert.Equal(1, results.Count(r => r));
            var members = await Store.Memberships.ListMembersAsync(name).WaitAsync(Timeout);
            Assert.Equal(1, members.Count(m => m.Role == MemberRole.Owner));
            Assert.Equal(results[0] ? a.Id : b.Id, members[0].UserId);
            var after = (await Store.Rooms.FindByNameAsync(name).WaitAsync(Timeout))!;
            Assert.Equal(room.MembershipVersion + 1, after.MembershipVersion);
            Assert.Equal(room.Version + 1, after.Version);
        }
    }

    [Fact]
    public async Task Concurrent_joins_that_retry_on_conflict_give_an_exact_member_count()
    {
        var owner = NewUser("owner");
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom("busy"), [Join("busy", owner, MemberRole.Owner)]).WaitAsync(Timeout));
        var joiners = Enumerable.Range(0, 16).Select(i => NewUser($"joiner{i:00}")).ToArray();
        var attempts = await Task.WhenAll(joiners.Select(user => Task.Run(async () =>
        {
            for (var attempt = 1; ; attempt++)
            {
                var room = (await Store.Rooms.FindByNameAsync("busy"))!;
                if (await Store.Memberships.TryApplyAsync("busy", room.MembershipVersion, [Join("busy", user)]))
                {
                    return attempt;
                }
            }
        }))).WaitAsync(Timeout);

        Assert.All(attempts, a => Assert.InRange(a, 1, 1000));
        Assert.Equal(17, await Store.Memberships.CountMembersAsync("busy").WaitAsync(Timeout));
        Assert.Equal(16, (await Store.Rooms.FindByNameAsync("busy").WaitAsync(Timeout))!.MembershipVersion);
        Assert.Equal(
            new[] { owner.UserName }.Concat(joiners.Select(j => j.UserName)),
            (await Store.Memberships.ListMembersAsync("busy").WaitAsync(Timeout)).Select(m => m.UserName));
    }

    [Fact]
    public async Task A_membership_change_on_a_stale_version_an_unknown_room_or_invalid_input_writes_nothing()
    {
        var (owner, user) = (NewUser("owner"), NewUser("user"));
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom("guarded"), [Join("guarded", owner, MemberRole.Owner)]).WaitAsync(Timeout));
        Assert.True(await Store.Memberships.TryApplyAsync("guarded", 0, [Join("guarded", user)]).WaitAsync(Timeout));
        var head = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);
        var stored = (await Store.Memberships.FindAsync("guarded", user.Id).WaitAsync(Timeout))!;
        var left = stored.Next(Now.AddMinutes(1), m => m with { State = MembershipState.Left });

        Assert.False(await Store.Memberships.TryApplyAsync("guarded", 0, [left]).WaitAsync(Timeout)); // stale: the version is 1 now
        Assert.False(await Store.Memberships.TryApplyAsync("nowhere", 0, [left with { Room = "nowhere" }]).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Memberships.TryApplyAsync("guarded", 1, []).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Memberships.TryApplyAsync("guarded", 1, [left with { Room = "elsewhere" }]).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Memberships.TryApplyAsync("guarded", 1, [left, left]).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Memberships.TryApplyAsync("guarded", 1, [left with { Version = stored.Version }]).WaitAsync(Timeout));

        Assert.Equal(head, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));
        Assert.Equal(stored, await Store.Memberships.FindAsync("guarded", user.Id).WaitAsync(Timeout));
        Assert.Equal(1, (await Store.Rooms.FindByNameAsync("guarded").WaitAsync(Timeout))!.MembershipVersion);

        // The same change on the current version applies; leaving is a versioned state, not a delete.
        Assert.True(await Store.Memberships.TryApplyAsync("guarded", 1, [left]).WaitAsync(Timeout));
        Assert.Equal(left, await Store.Memberships.FindAsync("guarded", user.Id).WaitAsync(Timeout));
        Assert.Equal(1, await Store.Memberships.CountMembersAsync("guarded").WaitAsync(Timeout));
    }

    [Fact]
    public async Task Members_list_by_role_then_name_and_bans_list_only_those_in_force()
    {
        var users = new[] { "zed", "Émile", "amy", "bob", "cy", "dan" }.Select(NewUser).ToDictionary(u => u.UserName);
        var name = "moderated";
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(
            NewRoom(name),
            [Join(name, users["zed"], MemberRole.Owner), Join(name, users["Émile"], MemberRole.Moderator), Join(name, users["amy"]), Join(name, users["bob"]), Join(name, users["cy"]), Join(name, users["dan"])]).WaitAsync(Timeout));
        var muteUntil = Now.AddHours(1).AddTicks(1234);
        var changes = new[]
        {
            Join(name, users["amy"]).Next(Now, m => m with { MutedUntil = muteUntil }),
            Join(name, users["bob"]).Next(Now, m => m with { State = MembershipState.Banned, BannedUntil = null, BanReason = "spam — ✗" }),
            Join(name, users["cy"]).Next(Now, m => m with { State = MembershipState.Banned, BannedUntil = Now.AddMinutes(5), BanReason = null }),
            Join(name, users["dan"]).Next(Now, m => m with { State = MembershipState.Banned, BannedUntil = Now.AddMinutes(-5), BanReason = "expired" }),
        };
        Assert.True(await Store.Memberships.TryApplyAsync(name, 0, changes).WaitAsync(Timeout));

        var members = await Store.Memberships.ListMembersAsync(name).WaitAsync(Timeout);
        Assert.Equal(["zed", "Émile", "amy"], members.Select(m => m.UserName));
        Assert.Equal(changes[0], members[2]);
        Assert.True(members[2].IsMutedAt(Now));
        Assert.Equal(3, await Store.Memberships.CountMembersAsync(name).WaitAsync(Timeout));

        var bans = await Store.Memberships.ListBansAsync(name, Now).WaitAsync(Timeout);
        Assert.Equal([changes[1], changes[2]], bans);
        Assert.Equal([changes[1]], await Store.Memberships.ListBansAsync(name, Now.AddMinutes(10)).WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_room_update_is_a_compare_and_set_on_the_version()
    {
        Assert.True(await Store.Rooms.TryCreateAsync(NewRoom("topical")).WaitAsync(Timeout));
        var room = (await Store.Rooms.FindByNameAsync("topical").WaitAsync(Timeout))!;
        var updated = room with { Topic = "new topic", Version = room.Version + 1 };
        Assert.True(await Store.Rooms.TryUpdateAsync(updated).WaitAsync(Timeout));
        Assert.Equal(updated, await Store.Rooms.FindByNameAsync("topical").WaitAsync(Timeout));
        Assert.False(await Store.Rooms.TryUpdateAsync(updated with { Topic = "lost update" }).WaitAsync(Timeout));
        Assert.False(await Store.Rooms.TryUpdateAsync(updated with { Version = updated.Version + 1, Kind = RoomKind.Private }).WaitAsync(Timeout));
        Assert.False(await Store.Rooms.TryUpdateAsync(NewRoom("unknown") with { Version = 2 }).WaitAsync(Timeout));
        Assert.Equal(updated, await Store.Rooms.FindByNameAsync("topical").WaitAsync(Timeout));
    }

    // ---------- the room list ----------

    [Fact]
    public async Task The_room_list_holds_public_rooms_and_only_the_private_and_direct_rooms_the_user_belongs_to()
    {
        var (owner, friend, user) = (NewUser("owner"), NewUser("friend"), NewUser("user"));
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom("town"), [Join("town", owner, MemberRole.Owner)]).WaitAsync(Timeout));
        Assert.True(await Store.Rooms.TryCreateAsync(NewRoom("empty-square")).WaitAsync(Timeout));
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom("club") with { Kind = RoomKind.Private }, [Join("club", owner, MemberRole.Owner)]).WaitAsync(Timeout));
        var dm = ChatRoom.DirectRoomName([owner.Id, friend.Id]);
        Assert.True(await Store.Rooms.TryCreateWithMembersAsync(NewRoom(dm) with { Kind = RoomKind.Direct }, [Join(dm, owner), Join(dm, friend)]).WaitAsync(Timeout));
        await Store.Messages.AppendAsync(NewMessage("town", "one")).WaitAsync(Timeout);
        await Store.Messages.AppendAsync(NewMessage("town", "two")).WaitAsync(Timeout);

        var list = await Store.Rooms.ListForUserAsync(user.Id).WaitAsync(Timeout);
        Assert.Equal(["empty-square", "town"], list.Select(e => e.Room.Name));
        Assert.All(list, e => Assert.Null(e.Role));
        Assert.Equal((2L, 1L), (list[1].LastSeq, list[1].MemberCount));
        Assert.Equal((0L, 0L), (list[0].LastSeq, list[0].MemberCount));

        Assert.Equal(["club", dm, "empty-square", "town"], (await Store.Rooms.ListForUserAsync(owner.Id).WaitAsync(Timeout)).Select(e => e.Room.Name));
        var friendList = await Store.Rooms.ListForUserAsync(friend.Id).WaitAsync(Timeout);
        Assert.Equal([dm, "empty-square", "town"], friendList.Select(e => e.Room.Name));
        Assert.Equal((MemberRole?)MemberRole.Member, friendList[0].Role);
        Assert.Equal(2, friendList[0].MemberCount);

        // Added to the private room: listed with the role; removed: gone; added again and banned: gone.
        var added = Join("club", user);
        Assert.True(await Store.Memberships.TryApplyAsync("club", 0, [added]).WaitAsync(Timeout));
        var club = (await Store.Rooms.ListForUserAsync(user.Id).WaitAsync(Timeout)).Single(e => e.Room.Name == "club");
        Assert.Equal((added, 2L, RoomKind.Private), (club.Membership, club.MemberCount, club.Room.Kind));

        var removed = added.Next(Now, m => m with { State = MembershipState.Removed });
        Assert.True(await Store.Memberships.TryApplyAsync("club", 1, [removed]).WaitAsync(Timeout));
        Assert.DoesNotContain("club", (await Store.Rooms.ListForUserAsync(user.Id).WaitAsync(Timeout)).Select(e => e.Room.Name));

        var back = removed.Next(Now, m => m with { State = MembershipState.Member });
        Assert.True(await Store.Memberships.TryApplyAsync("club", 2, [back]).WaitAsync(Timeout));
        Assert.Contains("club", (await Store.Rooms.ListForUserAsync(user.Id).WaitAsync(Timeout)).Select(e => e.Room.Name));
        var banned = back.Next(Now, m => m with { State = MembershipState.Banned, BanReason = "rude" });
        Assert.True(await Store.Memberships.TryApplyAsync("club", 3, [banned]).WaitAsync(Timeout));
        Assert.Equal(["empty-square", "town"], (await Store.Rooms.ListForUserAsync(user.Id).WaitAsync(Timeout)).Select(e => e.Room.Name));

        // A member of a public room sees their role there.
        var joined = Join("town", user);
        Assert.True(await Store.Memberships.TryApplyAsync("town", 0, [joined]).WaitAsync(Timeout));
        var town = (await Store.Rooms.ListForUserAsync(user.Id).WaitAsync(Timeout)).Single(e => e.Room.Name == "town");
        Assert.Equal((joined, 2L, 2L), (town.Membership, town.MemberCount, town.LastSeq));
    }

    // ---------- the user directory ----------

    [Fact]
    public async Task User_prefix_search_ignores_case_orders_by_normalized_name_and_honours_the_limit()
    {
        foreach (var name in new[] { "ALINE", "alice", "Alicia", "bob", "ädele", "Ädam", "日本太郎", "ali.b" })
        {
            Assert.True(await Store.Users.TryCreateAsync(NewUser(name)).WaitAsync(Timeout));
        }

        async Task<string[]> Search(string prefix, int limit) =>
            (await Store.Users.SearchByNamePrefixAsync(prefix, limit).WaitAsync(Timeout)).Select(u => u.UserName).ToArray();

        Assert.Equal(["ali.b", "alice", "Alicia", "ALINE"], await Search("ali", 10));
        Assert.Equal(["alice", "Alicia"], await Search("ALIC", 10));
        Assert.Equal(["ali.b", "alice"], await Search("Ali", 2));
        Assert.Equal(["Ädam", "ädele"], await Search("äD", 10));
        Assert.Equal(["日本太郎"], await Search("日本", 10));
        Assert.Equal(["ali.b", "alice", "Alicia"], await Search("", 3));
        Assert.Empty(await Search("alz", 10));
        Assert.Empty(await Search("x", 10));
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => Store.Users.SearchByNamePrefixAsync("a", 0).WaitAsync(Timeout));
    }

    // ---------- replication of memberships ----------

    [Fact]
    public async Task Memberships_replicate_last_writer_wins_and_scan_by_room_then_user()
    {
        var (a, b) = (NewUser("a") with { Id = Guid.Parse("00000000-0000-0000-0000-00000000000a") }, NewUser("b") with { Id = Guid.Parse("00000000-0000-0000-0000-00000000000b") });
        var room = NewRoom("replicated") with { Kind = RoomKind.Private, Topic = "t", MembershipVersion = 3, Version = 4 };
        var v1 = Join("replicated", b);
        var v2 = v1.Next(Now.AddTicks(17), m => m with { State = MembershipState.Banned, BannedUntil = Now.AddDays(1).AddTicks(3), BanReason = "why" });
        var other = Join("other-room", a, MemberRole.Owner);

        Assert.Equal(4, await Apply(1, ChangeRecord.ForRoom(1, Now, room), ChangeRecord.ForMembership(2, Now, v2), ChangeRecord.ForMembership(3, Now, Join("replicated", a)), ChangeRecord.ForMembership(4, Now, other)));
        Assert.Equal(0, await Apply(1, ChangeRecord.ForMembership(5, Now, v1))); // older: ignored
        Assert.Equal(0, await Apply(1, ChangeRecord.ForMembership(6, Now, v2))); // the same again: nothing
        Assert.Equal(room, await Store.Rooms.FindByNameAsync("replicated").WaitAsync(Timeout));
        Assert.Equal(v2, await Store.Memberships.FindAsync("replicated", b.Id).WaitAsync(Timeout));
        Assert.Equal([v2], await Store.Memberships.ListBansAsync("replicated", Now).WaitAsync(Timeout));

        var feed = (await Store.Replication.ReadChangesAsync(0, 100).WaitAsync(Timeout)).Changes;
        var change = feed.Single(c => c.Kind == DocumentKind.Membership && c.Membership!.UserId == b.Id);
        Assert.Equal((v2.Id, 2L, v2), (change.DocumentId, change.DocumentVersion, change.Membership));
        Assert.Equal(RoomMembership.IdFor("replicated", b.Id), change.DocumentId);

        var scanned = new List<ChangeRecord>();
        await foreach (var record in Store.Replication.ScanAsync(DocumentKind.Membership).WithCancellation(TestContext.Current.CancellationToken))
        {
            scanned.Add(record);
        }

        Assert.Equal(["other-room/a", "replicated/a", "replicated/b"], scanned.Select(c => $"{c.Membership!.Room}/{c.Membership.UserName}"));
        var positions = feed.ToDictionary(c => c.DocumentId, c => c.Position);
        Assert.All(scanned, c => Assert.Equal(positions[c.DocumentId], c.Position));
    }

    /// <summary>Creates a new membership (version 1, state member) of <paramref name="user"/> in <paramref name="room"/>.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="user">The user.</param>
    /// <param name="role">The role.</param>
    /// <returns>The membership.</returns>
    protected static RoomMembership Join(string room, ChatUser user, MemberRole role = MemberRole.Member) =>
        RoomMembership.Join(room, user.Id, user.UserName, role, Now);
}
