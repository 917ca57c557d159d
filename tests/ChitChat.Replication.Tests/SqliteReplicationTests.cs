using ChitChat.Sqlite;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using ChitChat.Contracts;

namespace ChitChat.Replication.Tests;

/// <summary>End-to-end replication between real SQLite files: a primary and replicas in a temp directory.</summary>
public sealed class SqliteReplicationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Thousands_of_writes_converge_on_every_replica_field_by_field()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var r1 = _dir.Sqlite("replica1");
        await using var r2 = _dir.Sqlite("replica2");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = r1, ["r2"] = r2 }, o => o.BatchSize = 500);
        await rig.InitializeAsync();

        var users = await CreateUsersAsync(rig.Router, 12);
        var rooms = await CreateRoomsAsync(rig.Router, 8);
        await WriteMessagesAsync(rig.Router, users, rooms, 3000, "conv");

        await AssertConvergesAsync(rig, primary, [r1, r2], rooms, 3000 + 12 + 8);
    }

    [Fact]
    public async Task A_wiped_replica_is_rebuilt_completely()
    {
        await using var primary = _dir.Sqlite("primary");
        var replica = _dir.Sqlite("replica");
        var users = new List<ChatUser>();
        var faulty = new FaultyStore(replica);
        await using (var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = faulty }))
        {
            await rig.InitializeAsync();
            users = await CreateUsersAsync(rig.Router, 3);
            var rooms = await CreateRoomsAsync(rig.Router, 2);
            await WriteMessagesAsync(rig.Router, users, rooms, 400, "wipe");
            Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        }

        await replica.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(_dir.Path, "replica.db*"))
        {
            File.Delete(file);
        }

        await using var fresh = _dir.Sqlite("replica");
        await using var rig2 = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = fresh }, o => o.BatchSize = 128);
        await rig2.InitializeAsync();
        Assert.Null(await fresh.Replication.GetCheckpointAsync("primary"));
        var report = await rig2.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.True(report.Succeeded);
        Assert.Equal(0, report.Replicas[0].FromPosition);
        Assert.True(report.Replicas[0].Batches > 1);
        await Data.AssertSameDocumentsAsync(primary, fresh, "rebuilt replica");
        Assert.True((await rig2.Manager.VerifyAsync().WaitAsync(Timeout)).InSync);
    }

    [Fact]
    public async Task Drift_injected_into_a_replica_is_repaired_by_anti_entropy_in_both_directions()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
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

        // 1. A document missing on the replica: delete a message row behind the store's back.
        var room = rooms[0].Name;
        var victim = (await primary.Messages.QueryAsync(room, new MessageQuery(9, null, 1)))[0];
        await ExecuteSqlAsync(_dir.ConnectionString("replica"), "DELETE FROM messages WHERE room = $room AND seq = 10;", ("$room", room));
        Assert.Empty(await replica.Messages.QueryAsync(room, new MessageQuery(9, 11, 5)));

        // 2. An extra document on the replica only (a user written straight into it).
        var extra = Data.User("replica-only");
        await replica.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(0, DateTimeOffset.UtcNow, extra)], "test-injector", 1, null));

        // 3. An older version on the replica: the primary gets version 2 of a user (outside the change-feed sync we run here).
        var updated = users[0] with { FirstName = "Renamed", Version = 2 };
        await primary.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(0, DateTimeOffset.UtcNow, updated)], "test-injector", 1, null));

        // 4. A newer version on the replica: last writer wins, so it goes to the primary.
        var newer = users[1] with { LastName = "NewerOnReplica", Version = 3 };
        await replica.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(0, DateTimeOffset.UtcNow, newer)], "test-injector", 1, null));

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
        Assert.Equal(victim, (await replica.Messages.QueryAsync(room, new MessageQuery(9, 11, 5)))[0]);
        Assert.Equal("Renamed", (await replica.Users.FindByIdAsync(updated.Id))!.FirstName);
        Assert.Equal("NewerOnReplica", (await primary.Users.FindByIdAsync(newer.Id))!.LastName);
        Assert.NotNull(await primary.Users.FindByIdAsync(extra.Id));
        await Data.AssertSameDocumentsAsync(primary, replica, "after repair");
    }

    [Fact]
    public async Task A_sync_killed_mid_batch_resumes_from_its_checkpoint_without_duplicate_or_hole()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        var faulty = new FaultyStore(replica);
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = faulty }, o => o.BatchSize = 100);
        await rig.InitializeAsync();
        var users = await CreateUsersAsync(rig.Router, 2);
        var rooms = await CreateRoomsAsync(rig.Router, 3);
        await WriteMessagesAsync(rig.Router, users, rooms, 1000, "kill");

        // Crash on the 4th batch: batches 1-3 committed with their checkpoints, the 4th never reaches the store.
        var applies = 0;
        faulty.BeforeApply = (_, _) => ++applies == 4 ? throw new ChatStoreUnavailableException("test: killed mid-sync") : Task.CompletedTask;
        var first = await rig.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.False(first.Succeeded);
        Assert.Equal(3, first.Replicas[0].Batches);
        var checkpoint = await replica.Replication.GetCheckpointAsync("primary");
        Assert.Equal(first.Replicas[0].ToPosition, checkpoint!.Position);

        // Cancellation in the middle of the next batch: nothing of it is committed.
        using var cts = new CancellationTokenSource();
        faulty.BeforeApply = (_, _) => { cts.Cancel(); cts.Token.ThrowIfCancellationRequested(); return Task.CompletedTask; };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rig.Manager.SyncNowAsync(cts.Token).WaitAsync(Timeout));
        Assert.Equal(checkpoint.Position, (await replica.Replication.GetCheckpointAsync("primary"))!.Position);

        faulty.BeforeApply = null;
        var resumed = await rig.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.True(resumed.Succeeded);
        Assert.Equal(checkpoint.Position, resumed.Replicas[0].FromPosition);
        var total = first.Replicas[0].Read + resumed.Replicas[0].Read;
        Assert.Equal(await primary.Replication.GetHeadPositionAsync(), resumed.Replicas[0].ToPosition);
        Assert.Equal(1000 + 2 + 3, total); // every change read exactly once across the two passes
        foreach (var room in rooms)
        {
            var page = await replica.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10_000));
            Assert.Equal(Enumerable.Range(1, page.Count).Select(i => (long)i), page.Select(m => m.Seq));
            Assert.Equal(await primary.Messages.GetLastSeqAsync(room.Name), page.Count);
        }

        await Data.AssertSameDocumentsAsync(primary, replica, "after resume");
    }

    [Fact]
    public async Task Primary_outage_reads_served_by_replica_writes_rejected_fast_nothing_acknowledged_lost()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.ReadPreference = ReadPreference.PrimaryPreferred;
            o.MaxStaleness = TimeSpan.FromMinutes(10);
            o.OperationTimeout = TimeSpan.FromSeconds(10);
        });
        await rig.InitializeAsync();
        var users = await CreateUsersAsync(rig.Router, 2);
        var rooms = await CreateRoomsAsync(rig.Router, 1);
        var acknowledged = new List<ChatMessage>();
        foreach (var i in Enumerable.Range(0, 50))
        {
            acknowledged.Add((await rig.Router.Messages.AppendAsync(Data.Message(rooms[0].Name, users[i % 2], $"before {i}", $"k{i}"))).Message);
        }

        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);

        // Real outage: another connection takes SQLite's write lock and keeps it (BEGIN EXCLUSIVE); the store's writes hit SQLITE_BUSY.
        await using (var locker = new SqliteConnection(_dir.ConnectionString("primary")))
        {
            await locker.OpenAsync();
            await using (var cmd = locker.CreateCommand())
            {
                cmd.CommandText = "BEGIN EXCLUSIVE;";
                await cmd.ExecuteNonQueryAsync();
            }

            var write = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() =>
                rig.Router.Messages.AppendAsync(Data.Message(rooms[0].Name, users[0], "during outage", "k-out")).WaitAsync(Timeout));
            Assert.Equal(ChatErrorCodes.Unavailable, write.Code);
            Assert.NotNull(write.RetryAfter);

            // The circuit opens after enough failures: later writes are rejected without touching the store.
            for (var i = 0; rig.Set.Primary.CircuitAllowsCalls; i++)
            {
                Assert.True(i < 200, "the primary's circuit never opened");
                await Assert.ThrowsAsync<ChatStoreUnavailableException>(() =>
                    rig.Router.Messages.AppendAsync(Data.Message(rooms[0].Name, users[0], "during outage", $"k-out{i}")).WaitAsync(Timeout));
            }

            Assert.False(rig.Set.PrimaryReachable);

            // Reads are served by the replica (it has every acknowledged message).
            var page = await rig.Router.Messages.QueryAsync(rooms[0].Name, new MessageQuery(0, null, 500)).WaitAsync(Timeout);
            Assert.Equal(acknowledged, page);
            Assert.NotNull(await rig.Router.Users.FindByIdAsync(users[0].Id).WaitAsync(Timeout));

            var health = await new ReplicationHealthCheck(rig.Set).CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext()).WaitAsync(Timeout);
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, health.Status);

            await using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        // Recovery: writes succeed again once the circuit lets a trial call through, and everything converges.
        await Data.WaitUntilAsync(async () =>
        {
            try
            {
                acknowledged.Add((await rig.Router.Messages.AppendAsync(Data.Message(rooms[0].Name, users[1], "after", "k-after"))).Message);
                return true;
            }
            catch (ChatStoreUnavailableException)
            {
                return false;
            }
        }, "primary accepts writes after the lock is released");
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        var onPrimary = await primary.Messages.QueryAsync(rooms[0].Name, new MessageQuery(0, null, 500));
        Assert.Equal(acknowledged, onPrimary.Where(m => acknowledged.Any(a => a.Id == m.Id)));
        Assert.All(acknowledged, a => Assert.Contains(a, onPrimary));
        await Data.AssertSameDocumentsAsync(primary, replica, "after recovery");
    }

    /// <summary>
    /// The convergence assertions (also used by the MongoDB tests): one sync applies everything, every replica equals the
    /// primary field by field with gap-free seqs per room, verify reports in sync, and a second sync applies nothing.
    /// </summary>
    internal static async Task AssertConvergesAsync(ReplicationRig rig, IChatStore primary, IReadOnlyList<IChatStore> replicas, IReadOnlyList<ChatRoom> rooms, int documents)
    {
        var report = await rig.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.True(report.Succeeded, string.Join("; ", report.Replicas.Select(r => r.Error)));
        Assert.All(report.Replicas, r => Assert.True(r.Applied >= documents, $"{r.Replica} applied {r.Applied}"));

        for (var n = 0; n < replicas.Count; n++)
        {
            var replica = replicas[n];
            await Data.AssertSameDocumentsAsync(primary, replica, $"replica r{n + 1}").WaitAsync(Timeout);
            foreach (var room in rooms)
            {
                var page = await replica.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10_000)).WaitAsync(Timeout);
                Assert.Equal(Enumerable.Range(1, page.Count).Select(i => (long)i), page.Select(m => m.Seq));
                Assert.Equal(await primary.Messages.GetLastSeqAsync(room.Name).WaitAsync(Timeout), page.Count);
            }
        }

        var verify = await rig.Manager.VerifyAsync().WaitAsync(Timeout);
        Assert.True(verify.InSync, verify.Summarize());
        Assert.Equal($"in sync: {documents} documents", verify.Summarize());

        var again = await rig.Manager.SyncNowAsync().WaitAsync(Timeout);
        Assert.Equal(0, again.DocumentsApplied); // idempotent: nothing new, nothing re-applied
    }

    internal static async Task<List<ChatUser>> CreateUsersAsync(IChatStore store, int count)
    {
        var users = new List<ChatUser>();
        for (var i = 0; i < count; i++)
        {
            var user = Data.User($"user{i}-{Guid.NewGuid():N}"[..20], first: $"First{i}");
            Assert.True(await store.Users.TryCreateAsync(user).WaitAsync(Timeout));
            users.Add(user);
        }

        return users;
    }

    internal static async Task<List<ChatRoom>> CreateRoomsAsync(IChatStore store, int count)
    {
        var rooms = new List<ChatRoom>();
        for (var i = 0; i < count; i++)
        {
            var room = Data.Room($"room-{i}");
            Assert.True(await store.Rooms.TryCreateAsync(room).WaitAsync(Timeout));
            rooms.Add(room);
        }

        return rooms;
    }

    internal static async Task<List<ChatMessage>> WriteMessagesAsync(IChatStore store, IReadOnlyList<ChatUser> users, IReadOnlyList<ChatRoom> rooms, int count, string prefix)
    {
        var tasks = Enumerable.Range(0, count).Select(i => store.Messages.AppendAsync(
            Data.Message(rooms[i % rooms.Count].Name, users[i % users.Count], $"{prefix} message {i} ✓ \"quoted\"", $"{prefix}-{i}"))).ToArray();
        var results = await Task.WhenAll(tasks).WaitAsync(Timeout);
        Assert.All(results, r => Assert.True(r.Created));
        return results.Select(r => r.Message).ToList();
    }

    private static async Task ExecuteSqlAsync(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}
