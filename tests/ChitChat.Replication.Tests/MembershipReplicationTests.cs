using ChitChat.InMemory;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace ChitChat.Replication.Tests;

/// <summary>Room kinds, memberships and bans through the router, the change feed, incremental sync and anti-entropy.</summary>
public sealed class MembershipReplicationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly DateTimeOffset At = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static RoomMembership Join(ChatRoom room, ChatUser user, MemberRole role = MemberRole.Member) =>
        RoomMembership.Join(room.Name, user.Id, user.UserName, role, At);

    [Fact]
    public async Task Memberships_bans_and_room_kinds_sync_to_sqlite_replicas_field_by_field()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica });
        await rig.InitializeAsync();
        var (owner, guest, troll) = (Data.User("owner"), Data.User("guest"), Data.User("troll"));
        foreach (var user in new[] { owner, guest, troll })
        {
            Assert.True(await rig.Router.Users.TryCreateAsync(user).WaitAsync(Timeout));
        }

        var club = Data.Room("club") with { Kind = RoomKind.Private, Topic = "members only", CreatedBy = owner.Id };
        Assert.True(await rig.Router.Rooms.TryCreateWithMembersAsync(club, [Join(club, owner, MemberRole.Owner)]).WaitAsync(Timeout));
        var dm = Data.Room(ChatRoom.DirectRoomName([owner.Id, guest.Id])) with { Kind = RoomKind.Direct };
        Assert.True(await rig.Router.Rooms.TryCreateWithMembersAsync(dm, [Join(dm, owner), Join(dm, guest)]).WaitAsync(Timeout));
        Assert.True(await rig.Router.Memberships.TryApplyAsync("club", 0, [Join(club, guest, MemberRole.Moderator), Join(club, troll)]).WaitAsync(Timeout));
        var ban = Join(club, troll).Next(At.AddMinutes(1), m => m with { State = MembershipState.Banned, BannedUntil = At.AddDays(7), BanReason = "spam" });
        Assert.True(await rig.Router.Memberships.TryApplyAsync("club", 1, [ban]).WaitAsync(Timeout));

        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);

        await Data.AssertSameDocumentsAsync(primary, replica, "after sync");
        var replicated = (await replica.Rooms.FindByNameAsync("club").WaitAsync(Timeout))!;
        Assert.Equal((RoomKind.Private, "members only", 2L, 3L), (replicated.Kind, replicated.Topic, replicated.MembershipVersion, replicated.Version));
        Assert.Equal(RoomKind.Direct, (await replica.Rooms.FindByNameAsync(dm.Name).WaitAsync(Timeout))!.Kind);
        Assert.Equal(["owner", "guest"], (await replica.Memberships.ListMembersAsync("club").WaitAsync(Timeout)).Select(m => m.UserName));
        Assert.Equal([ban], await replica.Memberships.ListBansAsync("club", At).WaitAsync(Timeout));
        Assert.Equal(["club", dm.Name], (await replica.Rooms.ListForUserAsync(guest.Id).WaitAsync(Timeout)).Select(e => e.Room.Name));
        Assert.Empty(await replica.Rooms.ListForUserAsync(troll.Id).WaitAsync(Timeout));

        // Anti-entropy covers memberships: in sync now, and a membership lost on the replica is found and repaired.
        Assert.True((await rig.Manager.VerifyAsync().WaitAsync(Timeout)).InSync);
        await using (var connection = new SqliteConnection(_dir.ConnectionString("replica")))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM memberships WHERE room = 'club' AND user_name = 'guest';";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var verify = await rig.Manager.VerifyAsync().WaitAsync(Timeout);
        var difference = Assert.Single(verify.Replicas[0].Differences);
        Assert.Equal((DocumentKind.Membership, RoomMembership.IdFor("club", guest.Id), DifferenceType.MissingOnReplica), (difference.Kind, difference.Id, difference.Type));
        var repair = await rig.Manager.RepairAsync().WaitAsync(Timeout);
        Assert.Equal(1, repair.Replicas[0].Repaired);
        await Data.AssertSameDocumentsAsync(primary, replica, "after repair");
    }

    [Fact]
    public async Task A_membership_written_through_the_router_is_read_at_once_by_that_writer_and_from_the_replica_once_it_has_it()
    {
        var (primary, replica) = (new InMemoryChatStore(_time), new InMemoryChatStore(_time));
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.ReadPreference = ReadPreference.ReplicaPreferred;
            o.MaxStaleness = TimeSpan.FromSeconds(10);
        }, _time);
        await rig.InitializeAsync();
        var (owner, newcomer) = (Data.User("owner"), Data.User("newcomer"));
        var club = Data.Room("club") with { Kind = RoomKind.Private };
        Assert.True(await rig.Router.Users.TryCreateAsync(owner).WaitAsync(Timeout));
        Assert.True(await rig.Router.Users.TryCreateAsync(newcomer).WaitAsync(Timeout));
        Assert.True(await rig.Router.Rooms.TryCreateWithMembersAsync(club, [Join(club, owner, MemberRole.Owner)]).WaitAsync(Timeout));
        await SyncAndProbeAsync(rig);
        var router = (ReplicatedChatStore)rig.Router;
        Assert.Equal("r1", router.SelectReadTargets(ReplicatedChatStore.MembersKey("club"))[0].Name);

        var added = Join(club, newcomer);
        Assert.True(await rig.Router.Memberships.TryApplyAsync("club", 0, [added]).WaitAsync(Timeout));

        // The replica (fresh by time) does not have it yet, but this router's reads of it go to the primary.
        Assert.Null(await replica.Memberships.FindAsync("club", newcomer.Id));
        Assert.Equal(added, await rig.Router.Memberships.FindAsync("club", newcomer.Id).WaitAsync(Timeout));
        Assert.Equal(2, await rig.Router.Memberships.CountMembersAsync("club").WaitAsync(Timeout));
        Assert.Equal(["owner", "newcomer"], (await rig.Router.Memberships.ListMembersAsync("club").WaitAsync(Timeout)).Select(m => m.UserName));
        var entry = Assert.Single(await rig.Router.Rooms.ListForUserAsync(newcomer.Id).WaitAsync(Timeout));
        Assert.Equal(("club", (MemberRole?)MemberRole.Member), (entry.Room.Name, entry.Role));
        Assert.Equal(1, (await rig.Router.Rooms.FindByNameAsync("club").WaitAsync(Timeout))!.MembershipVersion);
        Assert.Equal("primary", router.SelectReadTargets([ReplicatedChatStore.RoomsOfUserKey(newcomer.Id)])[0].Name);

        // The directory sees a user just registered through this router.
        var late = Data.User("newest");
        Assert.True(await rig.Router.Users.TryCreateAsync(late).WaitAsync(Timeout));
        Assert.Equal([late], await rig.Router.Users.SearchByNamePrefixAsync("NEWE", 5).WaitAsync(Timeout));

        // Once the replica applied the writes, it serves them again.
        await SyncAndProbeAsync(rig);
        Assert.Equal("r1", router.SelectReadTargets(ReplicatedChatStore.MembersKey("club"))[0].Name);
        Assert.Equal(added, await rig.Router.Memberships.FindAsync("club", newcomer.Id).WaitAsync(Timeout));
        Assert.Equal(added, await replica.Memberships.FindAsync("club", newcomer.Id));
    }

    [Fact]
    public async Task A_membership_change_through_the_router_is_a_compare_and_set_on_the_primary()
    {
        var (primary, replica) = (new InMemoryChatStore(_time), new InMemoryChatStore(_time));
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, configure: null, _time);
        await rig.InitializeAsync();
        var (a, b) = (Data.User("a"), Data.User("b"));
        var room = Data.Room("duel");
        Assert.True(await rig.Router.Rooms.TryCreateWithMembersAsync(room, [Join(room, a, MemberRole.Owner), Join(room, b, MemberRole.Owner)]).WaitAsync(Timeout));

        var demoteB = Join(room, b, MemberRole.Owner).Next(At, m => m with { Role = MemberRole.Member });
        var demoteA = Join(room, a, MemberRole.Owner).Next(At, m => m with { Role = MemberRole.Member });
        Assert.True(await rig.Router.Memberships.TryApplyAsync("duel", 0, [demoteB]).WaitAsync(Timeout));
        Assert.False(await rig.Router.Memberships.TryApplyAsync("duel", 0, [demoteA]).WaitAsync(Timeout));
        Assert.Equal([MemberRole.Owner, MemberRole.Member], (await primary.Memberships.ListMembersAsync("duel")).Select(m => m.Role));
    }

    private static async Task SyncAndProbeAsync(ReplicationRig rig)
    {
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);
    }
}
