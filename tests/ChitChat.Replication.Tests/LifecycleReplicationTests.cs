using ChitChat.InMemory;
using ChitChat.Storage;
using Microsoft.Extensions.Time.Testing;

namespace ChitChat.Replication.Tests;

/// <summary>
/// The message lifecycle through replication (issue 13): edits, deletes and reactions on the primary converge on replicas
/// field by field with their update events; tombstones replicate; read markers converge to the furthest; anti-entropy
/// repairs a stale message version, a missing update event and a missing marker; the router reads its own edits and marks.
/// </summary>
public sealed class LifecycleReplicationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly DateTimeOffset At = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(ChatUser Alice, ChatUser Bob, ChatRoom Room, List<ChatMessage> Messages)> SeedAsync(IChatStore router, int count)
    {
        var alice = Data.User("alice");
        var bob = Data.User("bob");
        var room = Data.Room("lobby");
        Assert.True(await router.Users.TryCreateAsync(alice).WaitAsync(Timeout));
        Assert.True(await router.Users.TryCreateAsync(bob).WaitAsync(Timeout));
        Assert.True(await router.Rooms.TryCreateAsync(room).WaitAsync(Timeout));
        var messages = new List<ChatMessage>();
        for (var i = 0; i < count; i++)
        {
            messages.Add((await router.Messages.AppendAsync(Data.Message(room.Name, i % 2 == 0 ? alice : bob, $"word{i} secret{i} common")).WaitAsync(Timeout)).Message);
        }

        return (alice, bob, room, messages);
    }

    private static async Task<MessageUpdate> UpdateAsync(IChatStore store, ChatMessage message, MessageMutation mutation, int minute)
    {
        var result = await store.Messages.UpdateAsync(message.Room, message.Id, mutation, At.AddMinutes(minute)).WaitAsync(Timeout);
        Assert.Equal(MessageUpdateStatus.Updated, result.Status);
        return result.Update!;
    }

    /// <summary>Asserts that both stores hold the same messages (current state, field by field), update events and read markers.</summary>
    private static async Task AssertConvergedAsync(IChatStore primary, IChatStore replica, string room, string phase)
    {
        await Data.AssertSameDocumentsAsync(primary, replica, phase);
        var updates1 = (await Data.AllAsync(primary, DocumentKind.MessageUpdate)).Select(c => c.Update!).ToList();
        var updates2 = (await Data.AllAsync(replica, DocumentKind.MessageUpdate)).Select(c => c.Update!).ToList();
        Assert.True(updates1.SequenceEqual(updates2), $"{phase}: update events differ ({updates1.Count} vs {updates2.Count}).");
        var markers1 = (await Data.AllAsync(primary, DocumentKind.ReadMarker)).Select(c => c.ReadMarker!).OrderBy(m => m.Id).ToList();
        var markers2 = (await Data.AllAsync(replica, DocumentKind.ReadMarker)).Select(c => c.ReadMarker!).OrderBy(m => m.Id).ToList();
        Assert.True(markers1.SequenceEqual(markers2), $"{phase}: read markers differ ({markers1.Count} vs {markers2.Count}).");
        var events1 = await primary.Messages.ReadEventsAsync(room, 0, long.MaxValue, 500);
        var events2 = await replica.Messages.ReadEventsAsync(room, 0, long.MaxValue, 500);
        Assert.Equal(events1, events2);
        Assert.Equal(await primary.Messages.GetLastSeqAsync(room), await replica.Messages.GetLastSeqAsync(room));
    }

    [Fact]
    public async Task An_edit_a_delete_and_reactions_on_the_primary_converge_on_the_replica_field_by_field()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica });
        await rig.InitializeAsync();
        var (alice, bob, room, messages) = await SeedAsync(rig.Router, 6);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);

        var edit = await UpdateAsync(rig.Router, messages[0], new EditMessageText("word0 edited", [bob.Id]), 1);
        await UpdateAsync(rig.Router, messages[1], new AddReaction("👍", alice.Id, 20), 2);
        await UpdateAsync(rig.Router, messages[1], new AddReaction("👍", bob.Id, 20), 3);
        await UpdateAsync(rig.Router, messages[1], new AddReaction("🎉", bob.Id, 20), 4);
        await UpdateAsync(rig.Router, messages[1], new RemoveReaction("👍", alice.Id), 5);
        await UpdateAsync(rig.Router, messages[2], new AddReaction("👀", alice.Id, 20), 6);
        var delete = await UpdateAsync(rig.Router, messages[2], new DeleteMessage(), 7);
        Assert.Equal(6 + 7, await primary.Messages.GetLastSeqAsync(room.Name));

        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);

        await AssertConvergedAsync(primary, replica, room.Name, "after sync");
        var edited = (await replica.Messages.FindAsync(room.Name, messages[0].Id))!;
        Assert.Equal("word0 edited", edited.Text);
        Assert.Equal(At.AddMinutes(1), edited.EditedAt);
        Assert.Equal([bob.Id], edited.Mentions);
        Assert.Equal(2, edited.Version);
        Assert.Equal(messages[0].Seq, edited.Seq); // a message keeps its own seq
        var reacted = (await replica.Messages.FindAsync(room.Name, messages[1].Id))!;
        Assert.Equal([new MessageReaction("👍", [bob.Id]), new MessageReaction("🎉", [bob.Id])], reacted.Reactions);
        Assert.Equal(5, reacted.Version);
        var tombstone = (await replica.Messages.FindAsync(room.Name, messages[2].Id))!;
        Assert.True(tombstone.Deleted);
        Assert.Equal("", tombstone.Text);
        Assert.Empty(tombstone.Reactions);

        // The replica's event sequence holds the same update events at the same seqs, each with the current message.
        var events = await replica.Messages.ReadEventsAsync(room.Name, edit.Seq - 1, delete.Seq, 100);
        Assert.Equal(Enumerable.Range((int)edit.Seq, (int)(delete.Seq - edit.Seq + 1)).Select(i => (long)i), events.Select(e => e.Seq));
        Assert.All(events, e => Assert.Equal(MessageEventKind.Updated, e.Kind));
        Assert.Equal(MessageChange.Deleted, events[^1].Change);
        Assert.True(events[^1].Message.Deleted);
    }

    [Fact]
    public async Task A_tombstone_replicates_and_the_deleted_text_is_gone_from_the_replica_and_its_search()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica });
        await rig.InitializeAsync();
        var (_, _, room, messages) = await SeedAsync(rig.Router, 3);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        var search = new MessageSearch(SearchText.Terms("secret1"), [room.Name], null, 10);
        Assert.Equal([messages[1].Id], (await replica.Messages.SearchAsync(search)).Select(m => m.Id)); // the replica had the text

        await UpdateAsync(rig.Router, messages[1], new DeleteMessage(), 1);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);

        var onReplica = (await replica.Messages.FindAsync(room.Name, messages[1].Id))!;
        Assert.True(onReplica.Deleted);
        Assert.Equal("", onReplica.Text);
        Assert.Empty(await replica.Messages.SearchAsync(search));
        Assert.DoesNotContain(await replica.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 10)), m => m.Text.Contains("secret1", StringComparison.Ordinal));
        Assert.DoesNotContain(await Data.AllAsync(replica, DocumentKind.Message), c => c.Message!.Text.Contains("secret1", StringComparison.Ordinal));

        // An older copy offered again (a delayed batch, a repair from a stale source) never brings the text back.
        var stale = ChangeRecord.ForMessage(0, At, messages[1]);
        Assert.Equal(0, await replica.Replication.ApplyAsync(new ReplicationWrite([stale], "late-source", 1, null)));
        Assert.True((await replica.Messages.FindAsync(room.Name, messages[1].Id))!.Deleted);
        Assert.Empty(await replica.Messages.SearchAsync(search));
    }

    [Fact]
    public async Task Read_markers_converge_to_the_furthest_and_never_move_back()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica });
        await rig.InitializeAsync();
        var (alice, bob, room, _) = await SeedAsync(rig.Router, 10);

        Assert.True((await rig.Router.ReadState.MarkReadAsync(room.Name, alice.Id, 5, At).WaitAsync(Timeout)).Moved);
        Assert.True((await rig.Router.ReadState.MarkReadAsync(room.Name, bob.Id, 2, At).WaitAsync(Timeout)).Moved);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        Assert.Equal(5, (await ((IChatStore)replica).ReadState.FindAsync(room.Name, alice.Id))!.Seq);

        // A stale marker arriving late (another source, an old batch) does not lower the replica's.
        var older = ChangeRecord.ForReadMarker(0, At, new ReadMarker(room.Name, alice.Id, 3, At.AddMinutes(-1)));
        Assert.Equal(0, await replica.Replication.ApplyAsync(new ReplicationWrite([older], "late-source", 1, null)));
        Assert.Equal(5, (await ((IChatStore)replica).ReadState.FindAsync(room.Name, alice.Id))!.Seq);

        // Forward on the primary, then a lower mark that changes nothing: the replica ends at the highest.
        Assert.True((await rig.Router.ReadState.MarkReadAsync(room.Name, alice.Id, 9, At.AddMinutes(1)).WaitAsync(Timeout)).Moved);
        var lower = await rig.Router.ReadState.MarkReadAsync(room.Name, alice.Id, 4, At.AddMinutes(2)).WaitAsync(Timeout);
        Assert.False(lower.Moved);
        Assert.Equal(9, lower.Marker.Seq);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);

        var marker = (await ((IChatStore)replica).ReadState.FindAsync(room.Name, alice.Id))!;
        Assert.Equal(new ReadMarker(room.Name, alice.Id, 9, At.AddMinutes(1)), marker);
        Assert.Equal(2, (await ((IChatStore)replica).ReadState.FindAsync(room.Name, bob.Id))!.Seq);
        await AssertConvergedAsync(primary, replica, room.Name, "markers");
    }

    [Fact]
    public async Task Anti_entropy_repairs_a_stale_message_version_a_missing_update_event_and_a_missing_marker()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o => o.AntiEntropyBucketSize = 4);
        await rig.InitializeAsync();
        var (alice, bob, room, messages) = await SeedAsync(rig.Router, 8);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        Assert.True((await rig.Manager.VerifyAsync().WaitAsync(Timeout)).Replicas[0].InSync);

        // Changes on the primary that the replica never gets from the feed (written straight to the primary, no sync pass).
        await UpdateAsync(primary, messages[3], new EditMessageText("word3 fixed", []), 1);
        await UpdateAsync(primary, messages[5], new AddReaction("👍", bob.Id, 20), 2);
        await UpdateAsync(primary, messages[5], new DeleteMessage(), 3);
        await ((IChatStore)primary).ReadState.MarkReadAsync(room.Name, alice.Id, 7, At);

        var verify = await rig.Manager.VerifyAsync().WaitAsync(Timeout);
        var differences = verify.Replicas[0].Differences;
        Assert.False(verify.Replicas[0].InSync);
        Assert.Contains(differences, d => d.Kind == DocumentKind.Message && d.Id == messages[3].Id && d.Type == DifferenceType.OlderOnReplica && d.PrimaryVersion == 2 && d.ReplicaVersion == 1);
        Assert.Contains(differences, d => d.Kind == DocumentKind.Message && d.Id == messages[5].Id && d.Type == DifferenceType.OlderOnReplica && d.PrimaryVersion == 3);
        Assert.Equal(3, differences.Count(d => d.Kind == DocumentKind.MessageUpdate && d.Type == DifferenceType.MissingOnReplica && d.Room == room.Name && d.Seq > 8));
        Assert.Contains(differences, d => d.Kind == DocumentKind.ReadMarker && d.Type == DifferenceType.MissingOnReplica && d.Room == room.Name);
        Assert.Equal(6, verify.Replicas[0].TotalDifferences);

        var repair = await rig.Manager.RepairAsync().WaitAsync(Timeout);
        Assert.Equal(6, repair.Replicas[0].Repaired);

        Assert.True((await rig.Manager.VerifyAsync().WaitAsync(Timeout)).Replicas[0].InSync);
        await AssertConvergedAsync(primary, replica, room.Name, "after repair");
        var tombstone = (await replica.Messages.FindAsync(room.Name, messages[5].Id))!;
        Assert.True(tombstone.Deleted);
        Assert.Equal("", tombstone.Text);
        Assert.Equal("word3 fixed", (await replica.Messages.FindAsync(room.Name, messages[3].Id))!.Text);
        Assert.Equal(7, (await ((IChatStore)replica).ReadState.FindAsync(room.Name, alice.Id))!.Seq);
    }

    [Fact]
    public async Task Anti_entropy_repairs_a_replica_message_whose_version_differs_although_the_replica_has_every_update_event()
    {
        await using var primary = _dir.Sqlite("primary");
        await using var replica = _dir.Sqlite("replica");
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica });
        await rig.InitializeAsync();
        var (_, bob, room, messages) = await SeedAsync(rig.Router, 4);
        await UpdateAsync(rig.Router, messages[1], new AddReaction("👍", bob.Id, 20), 1);
        await UpdateAsync(rig.Router, messages[1], new EditMessageText("word1 v3", []), 2);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);

        // The replica's copy is replaced by an older version (drift: restored from an old backup, say), events untouched.
        var v1 = messages[1];
        var restored = (await Data.AllAsync(replica, DocumentKind.Message)).Select(c => c.Message!).Single(m => m.Id == v1.Id);
        Assert.Equal(3, restored.Version);
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(_dir.ConnectionString("replica")))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE messages SET version = 1, text = $text WHERE id = $id;";
            command.Parameters.AddWithValue("$text", v1.Text);
            command.Parameters.AddWithValue("$id", v1.Id.ToString());
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        Assert.Equal(1, (await replica.Messages.FindAsync(room.Name, v1.Id))!.Version);

        var repair = await rig.Manager.RepairAsync().WaitAsync(Timeout);

        var difference = Assert.Single(repair.Replicas[0].Differences);
        Assert.Equal(DifferenceType.OlderOnReplica, difference.Type);
        Assert.Equal(DocumentKind.Message, difference.Kind);
        Assert.Equal(1, repair.Replicas[0].Repaired);
        var repaired = (await replica.Messages.FindAsync(room.Name, v1.Id))!;
        Assert.Equal(await primary.Messages.FindAsync(room.Name, v1.Id), repaired);
        Assert.Equal("word1 v3", repaired.Text);
    }

    [Fact]
    public async Task The_router_reads_its_own_edit_and_read_marker_from_the_primary_until_the_replica_has_them()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
        var primary = new InMemoryChatStore(time);
        var replica = new InMemoryChatStore(time);
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.ReadPreference = ReadPreference.ReplicaPreferred;
            o.MaxStaleness = TimeSpan.FromSeconds(10);
        }, time);
        await rig.InitializeAsync();
        var (alice, _, room, messages) = await SeedAsync(rig.Router, 3);
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);
        var router = (ReplicatedChatStore)rig.Router;
        Assert.Equal("r1", router.SelectReadTargets(ReplicatedChatStore.MessagesKey(room.Name))[0].Name);

        var edit = await UpdateAsync(rig.Router, messages[0], new EditMessageText("mine, edited", []), 1);
        Assert.True((await rig.Router.ReadState.MarkReadAsync(room.Name, alice.Id, 3, At).WaitAsync(Timeout)).Moved);

        // The writer sees its edit, the update event and its marker although the replica (fresh by time) has none of them.
        Assert.Equal("mine, edited", (await rig.Router.Messages.FindAsync(room.Name, messages[0].Id).WaitAsync(Timeout))!.Text);
        Assert.Equal(messages[0].Text, (await replica.Messages.FindAsync(room.Name, messages[0].Id))!.Text);
        var events = await rig.Router.Messages.ReadEventsAsync(room.Name, 3, long.MaxValue, 10).WaitAsync(Timeout);
        Assert.Equal(edit.Seq, Assert.Single(events).Seq);
        Assert.Equal(edit.Seq, await rig.Router.Messages.GetLastSeqAsync(room.Name).WaitAsync(Timeout));
        Assert.Equal([messages[0].Id], (await rig.Router.Messages.SearchAsync(new MessageSearch(["edited"], [room.Name], null, 10)).WaitAsync(Timeout)).Select(m => m.Id));
        Assert.Equal(3, (await rig.Router.ReadState.FindAsync(room.Name, alice.Id).WaitAsync(Timeout))!.Seq);
        Assert.Null(await ((IChatStore)replica).ReadState.FindAsync(room.Name, alice.Id));

        // A room this router did not change is still read from the replica.
        Assert.Equal("r1", router.SelectReadTargets(ReplicatedChatStore.MessagesKey("elsewhere"))[0].Name);

        // Once the replica applied them, it serves the room and the marker again, with the same answers.
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal("r1", router.SelectReadTargets(ReplicatedChatStore.MessagesKey(room.Name))[0].Name);
        Assert.Equal("r1", router.SelectReadTargets(ReplicatedChatStore.ReadMarkerKey(room.Name, alice.Id))[0].Name);
        Assert.Equal("mine, edited", (await rig.Router.Messages.FindAsync(room.Name, messages[0].Id).WaitAsync(Timeout))!.Text);
        Assert.Equal(3, (await rig.Router.ReadState.FindAsync(room.Name, alice.Id).WaitAsync(Timeout))!.Seq);
    }
}
