using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace ChitChat.Replication.Tests;

/// <summary>Anti-entropy as digest → difference → repair plan, and the direction of repairs (<see cref="ReplicationOptions.RepairPrimary"/>).</summary>
public sealed class RepairTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly DateTimeOffset At = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Without_RepairPrimary_replica_only_and_replica_newer_documents_are_reported_logged_and_counted_but_never_written_to_the_primary()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o => o.AntiEntropyBucketSize = 50);
        using var unrepaired = new MetricCollector<long>(rig.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "ChitChat", ReplicationMetrics.DocumentsUnrepairedName);
        using var repairedMetric = new MetricCollector<long>(rig.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "ChitChat", ReplicationMetrics.DocumentsRepairedName);
        await rig.InitializeAsync();
        var users = await SqliteReplicationTests.CreateUsersAsync(rig.Router, 3);
        var rooms = await SqliteReplicationTests.CreateRoomsAsync(rig.Router, 2);
        await SqliteReplicationTests.WriteMessagesAsync(rig.Router, users, rooms, 120, "dir");
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        var room = rooms[0].Name;
        var lastSeq = await primary.Messages.GetLastSeqAsync(room);

        // Primary ahead: a message missing on the replica (repaired toward the replica as always).
        var victim = (await primary.Messages.QueryAsync(room, new MessageQuery(9, null, 1)))[0];
        await using (var connection = new SqliteConnection(_dir.ConnectionString("replica")))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM messages WHERE room = $room AND seq = 10;";
            command.Parameters.AddWithValue("$room", room);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        // Replica ahead: a replica-only user, a replica-newer user and a replica-only message at the room's next seq.
        var extra = Data.User("replica-only");
        var newer = users[1] with { LastName = "NewerOnReplica", Version = 3 };
        var stray = new ChatMessage(Guid.CreateVersion7(), room, lastSeq + 1, users[0].Id, users[0].UserName, "written to the replica alone", At, "stray", 1);
        await replica.Replication.ApplyAsync(new ReplicationWrite(
            [ChangeRecord.ForUser(0, At, extra), ChangeRecord.ForUser(0, At, newer), ChangeRecord.ForMessage(0, At, stray)], "test-injector", 1, null));
        var primaryHead = await primary.Replication.GetHeadPositionAsync();

        var repair = await rig.Manager.RepairAsync().WaitAsync(Timeout);

        Assert.Equal(4, repair.Replicas[0].TotalDifferences);
        Assert.Equal(1, repair.Replicas[0].Repaired); // only the message missing on the replica
        Assert.Equal(victim, (await replica.Messages.QueryAsync(room, new MessageQuery(9, 11, 5)))[0]);

        // The primary was not written at all: no new change, nothing taken from the replica.
        Assert.Equal(primaryHead, await primary.Replication.GetHeadPositionAsync());
        Assert.Null(await primary.Users.FindByIdAsync(extra.Id));
        Assert.Equal(users[1], await primary.Users.FindByIdAsync(newer.Id));
        Assert.Equal(lastSeq, await primary.Messages.GetLastSeqAsync(room));
        Assert.DoesNotContain(repairedMetric.GetMeasurementSnapshot(), m => m.Tags["direction"] is "to-primary" && m.Value > 0);

        // Reported, counted and logged.
        var verify = await rig.Manager.VerifyAsync().WaitAsync(Timeout);
        Assert.False(verify.InSync);
        var diffs = verify.Replicas[0].Differences;
        Assert.Equal(3, diffs.Count);
        Assert.Contains(diffs, d => d.Type == DifferenceType.MissingOnPrimary && d.Id == extra.Id);
        Assert.Contains(diffs, d => d.Type == DifferenceType.OlderOnPrimary && d.Id == newer.Id && d.PrimaryVersion == 1 && d.ReplicaVersion == 3);
        Assert.Contains(diffs, d => d.Type == DifferenceType.MissingOnPrimary && d.Id == stray.Id && d.Room == room && d.Seq == lastSeq + 1);
        Assert.Equal(3, unrepaired.GetMeasurementSnapshot().Where(m => m.Tags["replica"] is "r1").Sum(m => m.Value));
        Assert.Equal(2, unrepaired.GetMeasurementSnapshot().Where(m => m.Tags["difference"] is "MissingOnPrimary").Sum(m => m.Value));
        var warning = Assert.Single(rig.Logs.GetSnapshot(), r => r.Id.Id == 5022);
        Assert.Contains("3 document(s)", warning.Message, StringComparison.Ordinal);
        Assert.Contains("RepairPrimary", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_repair_plan_follows_the_differences_and_the_direction_setting(bool repairPrimary)
    {
        var layout = new DigestLayout(10);
        var shared = Data.User("shared");
        var onlyPrimary = Data.User("only-primary");
        var staleOnReplica = Data.User("stale");
        var onlyReplica = Data.User("only-replica");
        var newerOnReplica = Data.User("newer");
        var message = new ChatMessage(Guid.CreateVersion7(), "lobby", 3, shared.Id, shared.UserName, "hi", At, null, 1);
        var conflicting = message with { Seq = 4 }; // same id and version, another seq
        ChangeRecord U(ChatUser u) => ChangeRecord.ForUser(0, At, u);
        var primary = new[] { U(shared), U(onlyPrimary), U(staleOnReplica with { Version = 2 }), U(newerOnReplica), ChangeRecord.ForMessage(0, At, message) };
        var replica = new[] { U(shared), U(staleOnReplica), U(onlyReplica), U(newerOnReplica with { Version = 5 }), ChangeRecord.ForMessage(0, At, conflicting) };

        // Step 1: the digests differ in some buckets only; the document digests hold id -> version per side.
        var differing = StoreDigest.FromDocuments(primary, layout).DifferingBuckets(StoreDigest.FromDocuments(replica, layout));
        Assert.NotEmpty(differing);
        Assert.Empty(StoreDigest.FromDocuments(primary, layout).DifferingBuckets(StoreDigest.FromDocuments(primary.Reverse(), layout)));
        var p = DocumentDigest.FromDocuments(primary);
        var r = DocumentDigest.FromDocuments(replica);
        Assert.Equal(2, p.VersionOf(DocumentKind.User, staleOnReplica.Id));
        Assert.Null(r.VersionOf(DocumentKind.User, onlyPrimary.Id));

        // Step 2: the differences.
        var differences = DigestDifference.Compare(p, r);
        Assert.Equal(
            [
                (DifferenceType.MissingOnReplica, onlyPrimary.Id),
                (DifferenceType.MissingOnPrimary, onlyReplica.Id),
                (DifferenceType.OlderOnReplica, staleOnReplica.Id),
                (DifferenceType.OlderOnPrimary, newerOnReplica.Id),
                (DifferenceType.Conflict, message.Id),
            ],
            differences.Select(d => (d.Type, d.Id)).OrderBy(x => x.Type).ToArray());

        // Step 3: the plan.
        var plan = RepairPlan.Create(differences, repairPrimary);
        Assert.Equal(new[] { onlyPrimary.Id, staleOnReplica.Id }.Order(), plan.ToReplica.Select(c => c.DocumentId).Order());
        Assert.All(plan.ToReplica, c => Assert.Equal(p.VersionOf(c.Kind, c.DocumentId), c.DocumentVersion));
        if (repairPrimary)
        {
            Assert.Equal(new[] { onlyReplica.Id, newerOnReplica.Id }.Order(), plan.ToPrimary.Select(c => c.DocumentId).Order());
            Assert.Equal(5, plan.ToPrimary.Single(c => c.DocumentId == newerOnReplica.Id).DocumentVersion);
            Assert.Equal([DifferenceType.Conflict], plan.Unrepaired.Select(d => d.Type));
        }
        else
        {
            Assert.Empty(plan.ToPrimary);
            Assert.Equal(
                [DifferenceType.MissingOnPrimary, DifferenceType.OlderOnPrimary, DifferenceType.Conflict],
                plan.Unrepaired.Select(d => d.Type).Order());
        }
    }
}
