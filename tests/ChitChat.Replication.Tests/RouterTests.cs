using ChitChat.InMemory;
using ChitChat.Leases;
using ChitChat.Storage;
using Microsoft.Extensions.Time.Testing;
using ChitChat.Contracts;

namespace ChitChat.Replication.Tests;

/// <summary>Router rules (read preference, max staleness, read-your-writes, outage) and the lease, on in-memory stores with a fake clock.</summary>
public sealed class RouterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));

    private (InMemoryChatStore Primary, InMemoryChatStore Replica) Stores() => (new InMemoryChatStore(_time), new InMemoryChatStore(_time));

    private async Task<(ReplicationRig Rig, ChatUser User, ChatRoom Room)> SetUpAsync(IChatStore primary, IChatStore replica, ReadPreference preference)
    {
        var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.ReadPreference = preference;
            o.MaxStaleness = TimeSpan.FromSeconds(10);
        }, _time);
        await rig.InitializeAsync();
        var user = Data.User("alice");
        var room = Data.Room("lobby");
        Assert.True(await rig.Router.Users.TryCreateAsync(user).WaitAsync(Timeout));
        Assert.True(await rig.Router.Rooms.TryCreateAsync(room).WaitAsync(Timeout));
        await SyncAndProbeAsync(rig);
        return (rig, user, room);
    }

    private static async Task SyncAndProbeAsync(ReplicationRig rig)
    {
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);
    }

    [Theory]
    [InlineData(ReadPreference.Primary, 1)]
    [InlineData(ReadPreference.PrimaryPreferred, 1)]
    [InlineData(ReadPreference.ReplicaPreferred, 0)]
    [InlineData(ReadPreference.Replica, 0)]
    public async Task Reads_follow_the_read_preference(ReadPreference preference, int expectedMessages)
    {
        var (primary, replica) = Stores();
        var (rig, user, room) = await SetUpAsync(primary, replica, preference);
        await using var _ = rig;

        // Written straight into the primary (not through this router): only the primary has it, and no read-your-writes floor applies.
        await primary.Messages.AppendAsync(Data.Message(room.Name, user, "primary only"));

        var page = await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout);
        Assert.Equal(expectedMessages, page.Count);
    }

    [Fact]
    public async Task A_replica_staler_than_max_staleness_is_skipped()
    {
        var (primary, replica) = Stores();
        var (rig, user, room) = await SetUpAsync(primary, replica, ReadPreference.ReplicaPreferred);
        await using var _ = rig;
        await primary.Messages.AppendAsync(Data.Message(room.Name, user, "primary only"));
        Assert.Empty(await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));
        Assert.False(rig.Set.Replicas[0].IsPrimary);

        _time.Advance(TimeSpan.FromSeconds(11)); // no probe since: the replica may be missing up to 11 s of writes

        Assert.Single(await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));

        // A probe shows the replica is behind by a change written 11 s ago: still too stale.
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(1, rig.Set.Replicas[0].Status.LagDocuments);
        Assert.True(rig.Set.Replicas[0].Status.Lag >= TimeSpan.FromSeconds(11));
        Assert.Single(await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));

        // Synced: fresh again, reads go back to the replica.
        await SyncAndProbeAsync(rig);
        Assert.Equal(0, rig.Set.Replicas[0].Status.LagDocuments);
        var targets = ((ReplicatedChatStore)rig.Router).SelectReadTargets(ReplicatedChatStore.MessagesKey(room.Name));
        Assert.Equal("r1", targets[0].Name);
    }

    [Fact]
    public async Task Read_your_writes_a_room_written_through_the_router_is_read_from_the_primary_until_the_replica_has_it()
    {
        var (primary, replica) = Stores();
        var (rig, user, room) = await SetUpAsync(primary, replica, ReadPreference.ReplicaPreferred);
        await using var _ = rig;
        var other = Data.Room("other");
        Assert.True(await rig.Router.Rooms.TryCreateAsync(other).WaitAsync(Timeout));
        await SyncAndProbeAsync(rig);

        var sent = await rig.Router.Messages.AppendAsync(Data.Message(room.Name, user, "mine")).WaitAsync(Timeout);
        await primary.Messages.AppendAsync(Data.Message(other.Name, user, "someone else's, via another node"));

        // The writer sees its own message although the replica (fresh by time) does not have it yet.
        Assert.Equal([sent.Message], await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));
        Assert.Equal(1, await rig.Router.Messages.GetLastSeqAsync(room.Name).WaitAsync(Timeout));

        // Rooms this router did not write to are still read from the replica.
        Assert.Empty(await rig.Router.Messages.QueryAsync(other.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));

        // A new user is found right after registration (read-your-writes on user id and name).
        var bob = Data.User("bob");
        Assert.True(await rig.Router.Users.TryCreateAsync(bob).WaitAsync(Timeout));
        Assert.Equal(bob, await rig.Router.Users.FindByNameAsync("BOB").WaitAsync(Timeout));
        Assert.Equal(bob, await rig.Router.Users.FindByIdAsync(bob.Id).WaitAsync(Timeout));
        Assert.Null(await replica.Users.FindByNameAsync("bob"));

        // Once the replica applied the write, it serves the room again.
        await SyncAndProbeAsync(rig);
        var targets = ((ReplicatedChatStore)rig.Router).SelectReadTargets(ReplicatedChatStore.MessagesKey(room.Name));
        Assert.Equal("r1", targets[0].Name);
        Assert.Equal([sent.Message], await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Replica_preference_without_an_eligible_replica_fails_with_unavailable()
    {
        var (primary, replica) = Stores();
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o => o.ReadPreference = ReadPreference.Replica, _time);
        await rig.InitializeAsync();
        var ex = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => rig.Router.Rooms.ListAsync().WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.Unavailable, ex.Code);
        Assert.Contains("Replica", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Primary_down_reads_go_to_the_replica_and_writes_fail_fast_with_unavailable()
    {
        var (p, replica) = Stores();
        var primary = new FaultyStore(p);
        var (rig, user, room) = await SetUpAsync(primary, replica, ReadPreference.PrimaryPreferred);
        await using var _ = rig;
        var acked = await rig.Router.Messages.AppendAsync(Data.Message(room.Name, user, "acknowledged", "k1")).WaitAsync(Timeout);
        await SyncAndProbeAsync(rig);

        primary.Down = true;
        for (var i = 0; rig.Set.Primary.CircuitAllowsCalls; i++)
        {
            Assert.True(i < 200, "the primary's circuit never opened");
            var ex = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => rig.Router.Messages.AppendAsync(Data.Message(room.Name, user, "lost?", $"x{i}")).WaitAsync(Timeout));
            Assert.Equal(ChatErrorCodes.Unavailable, ex.Code);
            Assert.NotNull(ex.RetryAfter);
        }

        Assert.False(rig.Set.Primary.CircuitAllowsCalls); // the breaker opened: further writes do not even reach the store
        Assert.Equal([acked.Message], await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));
        Assert.Equal(user, await rig.Router.Users.FindByIdAsync(user.Id).WaitAsync(Timeout));

        // An outage longer than MaxStaleness: the replica holds every write this node saw, so it keeps serving reads.
        _time.Advance(TimeSpan.FromSeconds(30));
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.False(rig.Set.PrimaryReachable);
        Assert.Equal([acked.Message], await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)).WaitAsync(Timeout));
        var health = await new ReplicationHealthCheck(rig.Set).CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext()).WaitAsync(Timeout);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, health.Status);

        // Recovery after the break duration: the half-open trial succeeds.
        primary.Down = false;
        _time.Advance(TimeSpan.FromSeconds(30));
        var after = await rig.Router.Messages.AppendAsync(Data.Message(room.Name, user, "after", "k2")).WaitAsync(Timeout);
        Assert.Equal(2, after.Message.Seq);
        Assert.Equal(2, (await p.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10))).Count);
    }

    [Fact]
    public async Task Two_syncers_racing_only_the_lease_holder_writes()
    {
        var (primary, replica) = Stores();
        var leases = new InMemoryLeaseProvider(_time);
        var counting = new FaultyStore(replica);
        var writers = new System.Collections.Concurrent.ConcurrentBag<long>();
        counting.BeforeApply = (w, _) => { writers.Add(w.FencingToken); return Task.CompletedTask; };
        await using var a = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = counting }, o => o.NodeId = "a", _time, leases);
        await using var b = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = counting }, o => o.NodeId = "b", _time, leases);
        await a.InitializeAsync();
        var users = await SqliteReplicationTests.CreateUsersAsync(primary, 3);
        var rooms = await SqliteReplicationTests.CreateRoomsAsync(primary, 2);
        await SqliteReplicationTests.WriteMessagesAsync(primary, users, rooms, 200, "race");

        var reports = await Task.WhenAll(a.Manager.SyncNowAsync(), b.Manager.SyncNowAsync()).WaitAsync(Timeout);
        Assert.Single(reports, r => r.IsLeader);
        Assert.Single(writers.Distinct());
        await Data.AssertSameDocumentsAsync(primary, replica, "after race");
    }

    [Fact]
    public async Task A_stale_lease_holder_is_fenced_off_by_the_replica()
    {
        var (primary, replica) = Stores();
        var leases = new InMemoryLeaseProvider(_time);
        var gated = new FaultyStore(replica);
        var aEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gated.BeforeApply = async (w, _) =>
        {
            if (w.FencingToken == 1)
            {
                aEntered.TrySetResult();
                await releaseA.Task.WaitAsync(Timeout);
            }
        };
        Action<ReplicationOptions> lease = o => o.LeaseDuration = TimeSpan.FromSeconds(10);
        await using var a = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = gated }, o => { lease(o); o.NodeId = "a"; }, _time, leases);
        await using var b = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = gated }, o => { lease(o); o.NodeId = "b"; }, _time, leases);
        await a.InitializeAsync();
        var users = await SqliteReplicationTests.CreateUsersAsync(primary, 1);
        var rooms = await SqliteReplicationTests.CreateRoomsAsync(primary, 1);
        await SqliteReplicationTests.WriteMessagesAsync(primary, users, rooms, 20, "fence");

        var aPass = a.Manager.SyncNowAsync();
        await aEntered.Task.WaitAsync(Timeout);      // A holds token 1 and is paused inside its write (e.g. a GC pause)
        _time.Advance(TimeSpan.FromSeconds(11));     // A's lease expires without renewal
        var bReport = await b.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.True(bReport.Succeeded);
        Assert.Equal(2, bReport.FencingToken);
        await primary.Messages.AppendAsync(Data.Message(rooms[0].Name, users[0], "after takeover"));

        releaseA.SetResult();                         // A resumes and tries to write with token 1
        var aReport = await aPass.WaitAsync(Timeout);
        Assert.True(aReport.IsLeader);
        Assert.Equal(1, aReport.FencingToken);
        Assert.StartsWith("fenced", aReport.Replicas[0].Error);
        Assert.Equal(0, aReport.Replicas[0].Applied);
        Assert.Equal(2, (await replica.Replication.GetCheckpointAsync("primary"))!.FencingToken);
        Assert.False((await a.Manager.SyncNowAsync().WaitAsync(Timeout)).IsLeader); // A gave up the lease; B holds it
    }
}
