using ChitChat.Storage;
using MongoDB.Bson;
using MongoDB.Driver;
using static ChitChat.Replication.Tests.SqliteReplicationTests;

namespace ChitChat.Replication.Tests.MongoDB;

/// <summary>
/// End-to-end replication with MongoDB stores on the server in <c>CHITCHAT_MONGO_URI</c>, each store in its own database
/// <c>chitchat_repl_{guid}</c> dropped afterwards. Without the variable every test is reported as skipped, with the reason.
/// </summary>
public sealed class MongoReplicationTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly TempDir _dir = new();
    private MongoReplicationServer? _server;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
        finally
        {
            _dir.Dispose();
        }
    }

    [Fact]
    public async Task Mongo_to_mongo_a_thousand_writes_converge_field_by_field()
    {
        var server = Server();
        await AThousandWritesConvergeAsync(server.Store(), server.Store(), "mconv");
    }

    [Fact]
    public async Task Mongo_to_sqlite_a_thousand_writes_converge_field_by_field()
    {
        await using var replica = _dir.Sqlite("replica");
        await AThousandWritesConvergeAsync(Server().Store(), replica, "msql");
    }

    /// <summary>12 users, 8 rooms and 1,000 concurrent messages written through the router reach the replica field by field.</summary>
    private static async Task AThousandWritesConvergeAsync(IChatStore primary, IChatStore replica, string prefix)
    {
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.BatchSize = 250;
            o.OperationTimeout = TimeSpan.FromSeconds(60); // 1,000 concurrent appends against one server on a loaded machine
        });
        await rig.InitializeAsync();

        var users = await CreateUsersAsync(rig.Router, 12);
        var rooms = await CreateRoomsAsync(rig.Router, 8);
        await WriteMessagesAsync(rig.Router, users, rooms, 1000, prefix);

        await AssertConvergesAsync(rig, primary, [replica], rooms, 1000 + 12 + 8);
    }

    [Fact]
    public async Task A_wiped_mongo_replica_is_rebuilt_completely()
    {
        var server = Server();
        var primary = server.Store();
        var replicaDatabase = server.NewDatabase();
        var replica = server.Store(replicaDatabase);
        await using (var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }))
        {
            await rig.InitializeAsync();
            var users = await CreateUsersAsync(rig.Router, 3);
            var rooms = await CreateRoomsAsync(rig.Router, 2);
            await WriteMessagesAsync(rig.Router, users, rooms, 400, "wipe");
            Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
            Assert.NotNull(await replica.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout));
        }

        // Wipe: the replica's database is dropped (documents and checkpoint gone) and a new store opens the same database.
        await server.CloseAsync(replica);
        await server.DropDatabaseAsync(replicaDatabase);

        var fresh = server.Store(replicaDatabase);
        await using var rig2 = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = fresh }, o => o.BatchSize = 128);
        await rig2.InitializeAsync();
        Assert.Null(await fresh.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout));
        Assert.Empty(await Data.AllAsync(fresh, DocumentKind.Message).WaitAsync(Timeout));
        var report = await rig2.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.True(report.Succeeded, string.Join("; ", report.Replicas.Select(r => r.Error)));
        Assert.Equal(0, report.Replicas[0].FromPosition);
        Assert.True(report.Replicas[0].Batches > 1);
        await Data.AssertSameDocumentsAsync(primary, fresh, "rebuilt replica").WaitAsync(Timeout);
        Assert.True((await rig2.Manager.VerifyAsync().WaitAsync(Timeout)).InSync);
    }

    [Fact]
    public async Task Drift_injected_into_a_mongo_replica_is_repaired_by_anti_entropy_in_both_directions()
    {
        var server = Server();
        var primary = server.Store();
        var replica = server.Store();
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.AntiEntropyBucketSize = 50;
            o.RepairPrimary = true; // both directions: replica-only and replica-newer documents go to the primary too
        });
        await rig.InitializeAsync();
        var users = await CreateUsersAsync(rig.Router, 3);
        var rooms = await CreateRoomsAsync(rig.Router, 2);
        await WriteMessagesAsync(rig.Router, users, rooms, 300, "drift");
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        Assert.True((await rig.Manager.VerifyAsync().WaitAsync(Timeout)).InSync);

        // 1. A document missing on the replica: delete a message document straight from its collection, behind the store's back.
        var room = rooms[0].Name;
        var victim = (await primary.Messages.QueryAsync(room, new MessageQuery(9, null, 1)).WaitAsync(Timeout))[0];
        var messages = replica.Database.GetCollection<BsonDocument>("chitchat_messages");
        var deleted = await messages.DeleteOneAsync(new BsonDocument { ["room"] = room, ["seq"] = 10L }).WaitAsync(Timeout);
        Assert.Equal(1, deleted.DeletedCount);
        Assert.Empty(await replica.Messages.QueryAsync(room, new MessageQuery(9, 11, 5)).WaitAsync(Timeout));

        // 2. An extra document on the replica only (a user written straight into it).
        var extra = Data.User("replica-only");
        await replica.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(0, DateTimeOffset.UtcNow, extra)], "test-injector", 1, null)).WaitAsync(Timeout);

        // 3. An older version on the replica: the primary gets version 2 of a user (outside the change-feed sync we run here).
        var updated = users[0] with { FirstName = "Renamed", Version = 2 };
        await primary.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(0, DateTimeOffset.UtcNow, updated)], "test-injector", 1, null)).WaitAsync(Timeout);

        // 4. A newer version on the replica: last writer wins, so it goes to the primary.
        var newer = users[1] with { LastName = "NewerOnReplica", Version = 3 };
        await replica.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(0, DateTimeOffset.UtcNow, newer)], "test-injector", 1, null)).WaitAsync(Timeout);

        var verify = await rig.Manager.VerifyAsync().WaitAsync(Timeout);
        Assert.False(verify.InSync);
        var diffs = verify.Replicas[0].Differences;
        Assert.Contains(diffs, d => d.Type == DifferenceType.MissingOnReplica && d.Id == victim.Id && d.Seq == 10);
        Assert.Contains(diffs, d => d.Type == DifferenceType.MissingOnPrimary && d.Id == extra.Id);
        Assert.Contains(diffs, d => d.Type == DifferenceType.OlderOnReplica && d.Id == updated.Id && d.PrimaryVersion == 2 && d.ReplicaVersion == 1);
        Assert.Contains(diffs, d => d.Type == DifferenceType.OlderOnPrimary && d.Id == newer.Id && d.ReplicaVersion == 3);
        Assert.StartsWith("not in sync: r1: 4 differences", verify.Summarize());

        var repair = await rig.Manager.RepairAsync().WaitAsync(Timeout);
        Assert.Equal(4, repair.Replicas[0].Repaired);
        Assert.True((await rig.Manager.VerifyAsync().WaitAsync(Timeout)).InSync);
        Assert.Equal(victim, (await replica.Messages.QueryAsync(room, new MessageQuery(9, 11, 5)).WaitAsync(Timeout))[0]);
        Assert.Equal("Renamed", (await replica.Users.FindByIdAsync(updated.Id).WaitAsync(Timeout))!.FirstName);
        Assert.Equal("NewerOnReplica", (await primary.Users.FindByIdAsync(newer.Id).WaitAsync(Timeout))!.LastName);
        Assert.NotNull(await primary.Users.FindByIdAsync(extra.Id).WaitAsync(Timeout));
        await Data.AssertSameDocumentsAsync(primary, replica, "after repair").WaitAsync(Timeout);
    }

    private MongoReplicationServer Server() => _server ??= MongoReplicationServer.Require();
}
