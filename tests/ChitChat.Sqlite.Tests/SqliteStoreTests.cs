using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Sqlite.Tests;

/// <summary>SQLite-specific behaviour: schema, durability, group commit, availability, DI.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Initialization_creates_the_parent_directory_WAL_and_schema_version_and_is_idempotent()
    {
        var file = Path.Combine(_directory.Path, "nested", "deeper", "chitchat.db");
        await using (var store = Open(file))
        {
            await store.InitializeAsync().WaitAsync(Timeout);
            await store.InitializeAsync().WaitAsync(Timeout); // twice on one instance
            await store.Rooms.TryCreateAsync(Room("kept")).WaitAsync(Timeout);
        }

        Assert.True(File.Exists(file));
        await using (var reopened = Open(file))
        {
            await reopened.InitializeAsync().WaitAsync(Timeout); // an existing file at the current version
            Assert.NotNull(await reopened.Rooms.FindByNameAsync("kept").WaitAsync(Timeout));
        }

        using var raw = Raw(file);
        Assert.Equal(SqliteChatStore.SchemaVersion, Convert.ToInt32(Scalar(raw, "PRAGMA user_version;")));
        Assert.Equal(4, SqliteChatStore.SchemaVersion);
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode;"));
        Assert.Equal(1L, Scalar(raw, "SELECT COUNT(*) FROM rooms;"));
        foreach (var table in new[] { "users", "rooms", "messages", "room_sequences", "change_position", "replica_checkpoints", "memberships" })
        {
            Assert.Equal(1L, Scalar(raw, $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}';"));
        }
    }

    [Fact]
    public async Task A_file_from_a_newer_schema_is_refused()
    {
        var file = _directory.File("future.db");
        await using (var store = Open(file))
        {
            await store.InitializeAsync().WaitAsync(Timeout);
        }

        using (var raw = Raw(file))
        {
            Scalar(raw, $"PRAGMA user_version = {SqliteChatStore.SchemaVersion + 1};");
        }

        await using var newer = Open(file);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitializeAsync().WaitAsync(Timeout));
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acknowledged_appends_survive_closing_and_reopening_the_file()
    {
        var file = _directory.File("durable.db");
        var acknowledged = new List<ChatMessage>();
        await using (var store = Open(file))
        {
            for (var i = 0; i < 50; i++)
            {
                acknowledged.Add((await store.Messages.AppendAsync(Message("durable", $"m{i}", $"k{i}")).WaitAsync(Timeout)).Message);
            }
        }

        await using var reopened = Open(file);
        var stored = await reopened.Messages.QueryAsync("durable", new MessageQuery(0, null, 100)).WaitAsync(Timeout);
        Assert.Equal(acknowledged, stored);
        Assert.Equal(50, await reopened.Messages.GetLastSeqAsync("durable").WaitAsync(Timeout));
        var retry = await reopened.Messages.AppendAsync(Message("durable", "again", "k7")).WaitAsync(Timeout);
        Assert.False(retry.Created);
        Assert.Equal(acknowledged[7], retry.Message);
        Assert.Equal(51, (await reopened.Messages.AppendAsync(Message("durable", "next")).WaitAsync(Timeout)).Message.Seq);
    }

    [Fact]
    public async Task Dispose_commits_every_queued_append_before_closing()
    {
        var file = _directory.File("drain.db");
        Task<AppendResult>[] pending;
        var store = Open(file);
        await store.InitializeAsync().WaitAsync(Timeout);
        pending = Enumerable.Range(0, 100).Select(i => store.Messages.AppendAsync(Message("drain", $"m{i}"))).ToArray();
        await store.DisposeAsync().AsTask().WaitAsync(Timeout);

        var results = await Task.WhenAll(pending).WaitAsync(Timeout);
        Assert.All(results, r => Assert.True(r.Created));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Messages.AppendAsync(Message("drain", "late")).WaitAsync(Timeout));

        await using var reopened = Open(file);
        Assert.Equal(100, await reopened.Messages.GetLastSeqAsync("drain").WaitAsync(Timeout));
        Directory.Delete(_directory.Path, recursive: true); // every handle is closed
    }

    [Fact]
    public async Task Group_commit_puts_many_concurrent_appends_in_one_transaction()
    {
        var file = _directory.File("group.db");
        await using var store = Open(file);
        await store.InitializeAsync().WaitAsync(Timeout);

        // Hold the write lock so that all 200 appends are queued while the writer waits for it.
        Task<AppendResult>[] pending;
        using (var locker = Raw(file))
        {
            using var hold = locker.BeginTransaction(deferred: false);
            pending = Enumerable.Range(0, 200).Select(i => store.Messages.AppendAsync(Message("group", $"m{i}"))).ToArray();
            hold.Commit();
        }

        var results = await Task.WhenAll(pending).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), results.Select(r => r.Message.Seq).Order());
        Assert.InRange(store.CommittedTransactions, 1, 2); // the writer may have taken the first append alone
        Assert.Equal(200, store.CommittedWrites);
    }

    [Fact]
    public async Task BeginAppend_reports_sequenced_only_once_the_append_is_in_a_full_write_queue()
    {
        // One write in the writer's hands (waiting for the write lock), one in the queue (capacity 1): the third waits for room.
        var file = _directory.File("full-queue.db");
        await using var store = Open(file, o =>
        {
            o.WriteQueueCapacity = 1;
            o.MaxBatchSize = 1;
            o.BusyTimeout = TimeSpan.FromMinutes(5);
        });
        await store.InitializeAsync().WaitAsync(Timeout);

        PendingAppend[] appends;
        using (var locker = Raw(file))
        {
            using var hold = locker.BeginTransaction(deferred: false);
            appends = Enumerable.Range(1, 3).Select(i => store.Messages.BeginAppend(Message("full", $"m{i}"))).ToArray();
            Assert.True(appends[0].Sequenced.IsCompleted);
            Assert.False(appends[2].Sequenced.IsCompleted, "an append still waiting for room in the queue is not sequenced yet");
            Assert.False(appends[2].Durable.IsCompleted);
            hold.Commit();
        }

        await Task.WhenAll(appends.Select(a => a.Sequenced)).WaitAsync(Timeout);
        var results = await Task.WhenAll(appends.Select(a => a.Durable)).WaitAsync(Timeout);
        Assert.Equal(new long[] { 1, 2, 3 }, results.Select(r => r.Message.Seq));
        Assert.Equal(new[] { "m1", "m2", "m3" }, results.Select(r => r.Message.Text));
    }

    [Fact]
    public async Task BeginAppend_on_a_disposed_store_or_with_a_cancelled_token_fails_both_steps()
    {
        var store = Open(_directory.File("begin-fails.db"));
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            var append = store.Messages.BeginAppend(Message("r", "x"), cancelled.Token);
            Assert.True(append.Sequenced.IsCanceled);
            Assert.True(append.Durable.IsCanceled);
        }

        await store.DisposeAsync();
        var late = store.Messages.BeginAppend(Message("r", "late"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => late.Sequenced.WaitAsync(Timeout));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => late.Durable.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_file_of_schema_version_1_is_upgraded_in_place_and_keeps_its_messages()
    {
        // The shape schema version 1 created, made by hand (not by the store), with one message in it.
        var file = _directory.File("v1.db");
        var id = Guid.CreateVersion7();
        using (var raw = Raw(file))
        {
            Scalar(raw, "PRAGMA journal_mode = WAL;");
            Execute(raw, """
                CREATE TABLE users (id TEXT NOT NULL PRIMARY KEY, user_name TEXT NOT NULL, normalized_user_name TEXT NOT NULL,
                    first_name TEXT NULL, last_name TEXT NULL, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, changed_at INTEGER NOT NULL);
                CREATE UNIQUE INDEX ux_users_normalized_user_name ON users (normalized_user_name);
                CREATE UNIQUE INDEX ux_users_position ON users (position);
                CREATE TABLE rooms (id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, created_by TEXT NULL, created_at INTEGER NOT NULL,
                    version INTEGER NOT NULL, position INTEGER NOT NULL, changed_at INTEGER NOT NULL);
                CREATE UNIQUE INDEX ux_rooms_name ON rooms (name);
                CREATE UNIQUE INDEX ux_rooms_position ON rooms (position);
                CREATE TABLE messages (id TEXT NOT NULL PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL, author_id TEXT NOT NULL,
                    author_name TEXT NOT NULL, text TEXT NOT NULL, sent_at INTEGER NOT NULL, client_message_id TEXT NULL,
                    version INTEGER NOT NULL, position INTEGER NOT NULL, changed_at INTEGER NOT NULL);
                CREATE UNIQUE INDEX ux_messages_room_seq ON messages (room, seq);
                CREATE UNIQUE INDEX ux_messages_room_client_message_id ON messages (room, client_message_id) WHERE client_message_id IS NOT NULL;
                CREATE UNIQUE INDEX ux_messages_position ON messages (position);
                CREATE TABLE room_sequences (room TEXT NOT NULL PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE change_position (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
                CREATE TABLE replica_checkpoints (source_id TEXT NOT NULL PRIMARY KEY, position INTEGER NOT NULL,
                    fencing_token INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
                PRAGMA user_version = 1;
                """);
            Execute(raw, $"""
                INSERT INTO messages VALUES ('{id:D}', 'old', 1, '{Guid.Empty:D}', 'author', 'from v1', 0, 'k1', 1, 1, 0);
                INSERT INTO room_sequences VALUES ('old', 1);
                INSERT INTO change_position VALUES (1, 1);
                """);
        }

        await using (var store = Open(file))
        {
            var old = Assert.Single(await store.Messages.QueryAsync("old", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
            Assert.Equal((id, 1L, "from v1", "k1", (string?)null), (old.Id, old.Seq, old.Text, old.ClientMessageId, old.Origin));

            var appended = await store.Messages.AppendAsync(Message("old", "after upgrade", "k2") with { Origin = MessageOrigins.Legacy }).WaitAsync(Timeout);
            Assert.Equal(2, appended.Message.Seq);
            var page = await store.Messages.QueryAsync("old", new MessageQuery(0, null, 10)).WaitAsync(Timeout);
            Assert.Equal(new[] { null, MessageOrigins.Legacy }, page.Select(m => m.Origin));
            Assert.Equal(MessageOrigins.Legacy, (await store.Messages.FindByClientMessageIdAsync("old", "k2").WaitAsync(Timeout))!.Origin);
            Assert.Equal(2, (await store.Replication.ReadChangesAsync(0, 10).WaitAsync(Timeout)).Changes.Count);
        }

        using var check = Raw(file);
        Assert.Equal(SqliteChatStore.SchemaVersion, Convert.ToInt32(Scalar(check, "PRAGMA user_version;")));
        Assert.Equal(1L, Scalar(check, "SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'origin';"));
        Assert.Equal("ok", Scalar(check, "PRAGMA integrity_check;"));
    }

    [Fact]
    public async Task A_file_of_schema_version_2_is_upgraded_in_place_its_rooms_become_public_and_take_members()
    {
        // The shape schema version 2 created, made by hand (not by the store), with a room and a message in it.
        var file = _directory.File("v2.db");
        var roomId = Guid.CreateVersion7();
        var creator = Guid.CreateVersion7();
        using (var raw = Raw(file))
        {
            Scalar(raw, "PRAGMA journal_mode = WAL;");
            Execute(raw, """
                CREATE TABLE users (id TEXT NOT NULL PRIMARY KEY, user_name TEXT NOT NULL, normalized_user_name TEXT NOT NULL,
                    first_name TEXT NULL, last_name TEXT NULL, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, changed_at INTEGER NOT NULL);
                CREATE UNIQUE INDEX ux_users_normalized_user_name ON users (normalized_user_name);
                CREATE UNIQUE INDEX ux_users_position ON users (position);
                CREATE TABLE rooms (id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, created_by TEXT NULL, created_at INTEGER NOT NULL,
                    version INTEGER NOT NULL, position INTEGER NOT NULL, changed_at INTEGER NOT NULL);
                CREATE UNIQUE INDEX ux_rooms_name ON rooms (name);
                CREATE UNIQUE INDEX ux_rooms_position ON rooms (position);
                CREATE TABLE messages (id TEXT NOT NULL PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL, author_id TEXT NOT NULL,
                    author_name TEXT NOT NULL, text TEXT NOT NULL, sent_at INTEGER NOT NULL, client_message_id TEXT NULL,
                    version INTEGER NOT NULL, position INTEGER NOT NULL, changed_at INTEGER NOT NULL, origin TEXT NULL);
                CREATE UNIQUE INDEX ux_messages_room_seq ON messages (room, seq);
                CREATE UNIQUE INDEX ux_messages_room_client_message_id ON messages (room, client_message_id) WHERE client_message_id IS NOT NULL;
                CREATE UNIQUE INDEX ux_messages_position ON messages (position);
                CREATE TABLE room_sequences (room TEXT NOT NULL PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE change_position (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
                CREATE TABLE replica_checkpoints (source_id TEXT NOT NULL PRIMARY KEY, position INTEGER NOT NULL,
                    fencing_token INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
                PRAGMA user_version = 2;
                """);
            Execute(raw, $"""
                INSERT INTO rooms VALUES ('{roomId:D}', 'old', '{creator:D}', 0, 1, 1, 0);
                INSERT INTO messages VALUES ('{Guid.CreateVersion7():D}', 'old', 1, '{Guid.Empty:D}', 'author', 'from v2', 0, NULL, 1, 2, 0, NULL);
                INSERT INTO room_sequences VALUES ('old', 1);
                INSERT INTO change_position VALUES (1, 2);
                """);
        }

        await using (var store = Open(file))
        {
            var old = await store.Rooms.FindByNameAsync("old").WaitAsync(Timeout);
            Assert.Equal(new ChatRoom(roomId, "old", creator, new DateTimeOffset(0, TimeSpan.Zero), 1), old);
            Assert.Equal((RoomKind.Public, (string?)null, 0L), (old!.Kind, old.Topic, old.MembershipVersion));

            var member = RoomMembership.Join("old", creator, "creator", MemberRole.Owner, DateTimeOffset.UtcNow);
            Assert.True(await store.Memberships.TryApplyAsync("old", 0, [member]).WaitAsync(Timeout));
            var entry = Assert.Single(await store.Rooms.ListForUserAsync(creator).WaitAsync(Timeout));
            Assert.Equal((member, 1L, 1L), (entry.Membership, entry.LastSeq, entry.MemberCount));
            // The message, the membership and the room at its new version (membership version 1): each document once, at its latest change.
            var changes = (await store.Replication.ReadChangesAsync(0, 10).WaitAsync(Timeout)).Changes;
            Assert.Equal([DocumentKind.Message, DocumentKind.Membership, DocumentKind.Room], changes.Select(c => c.Kind));
            Assert.Equal((2L, 1L), (changes[2].Room!.Version, changes[2].Room!.MembershipVersion));

            // Schema 4: the old message is version 1, not deleted, in the search index (backfilled), and can be changed.
            var message = Assert.Single(await store.Messages.SearchAsync(new MessageSearch(["v2"], ["old"], null, 10)).WaitAsync(Timeout));
            Assert.Equal(("from v2", false, 0, (Guid?)null), (message.Text, message.Deleted, message.ReplyCount, message.ThreadRoot));
            Assert.Equal(2, (await store.Messages.UpdateAsync("old", message.Id, new EditMessageText("edited after the upgrade", []), DateTimeOffset.UtcNow).WaitAsync(Timeout)).Update!.Seq);
            Assert.Empty(await store.Messages.SearchAsync(new MessageSearch(["v2"], ["old"], null, 10)).WaitAsync(Timeout));
            Assert.Single(await store.Messages.SearchAsync(new MessageSearch(["upgrade"], ["old"], null, 10)).WaitAsync(Timeout));
        }

        using var check = Raw(file);
        Assert.Equal(SqliteChatStore.SchemaVersion, Convert.ToInt32(Scalar(check, "PRAGMA user_version;")));
        Assert.Equal("ok", Scalar(check, "PRAGMA integrity_check;"));
    }

    [Fact]
    public async Task Two_stores_on_one_file_race_to_create_a_direct_room_and_to_change_its_memberships_and_one_wins_each_time()
    {
        // Two writer loops on one file, like two processes: the compare-and-sets are decided inside BEGIN IMMEDIATE.
        var file = _directory.File("two-nodes.db");
        await using var first = Open(file);
        await using var second = Open(file);
        await first.InitializeAsync().WaitAsync(Timeout);
        await second.InitializeAsync().WaitAsync(Timeout);
        var now = DateTimeOffset.UtcNow;
        for (var round = 0; round < 10; round++)
        {
            var (a, b) = (Guid.CreateVersion7(), Guid.CreateVersion7());
            var name = ChatRoom.DirectRoomName([a, b]);
            IReadOnlyList<RoomMembership> Members(string tag) =>
                [RoomMembership.Join(name, a, "a-" + tag, MemberRole.Member, now), RoomMembership.Join(name, b, "b-" + tag, MemberRole.Member, now)];

            var created = await Task.WhenAll(
                Task.Run(() => first.Rooms.TryCreateWithMembersAsync(Room(name) with { Kind = RoomKind.Direct }, Members("first"))),
                Task.Run(() => second.Rooms.TryCreateWithMembersAsync(Room(name) with { Kind = RoomKind.Direct }, Members("second")))).WaitAsync(Timeout);
            Assert.Equal(1, created.Count(c => c));
            var tag = created[0] ? "first" : "second";
            Assert.Equal(Members(tag), await second.Memberships.ListMembersAsync(name).WaitAsync(Timeout));

            var stored = Members(tag);
            var applied = await Task.WhenAll(
                Task.Run(() => first.Memberships.TryApplyAsync(name, 0, [stored[0].Next(now, m => m with { State = MembershipState.Left })])),
                Task.Run(() => second.Memberships.TryApplyAsync(name, 0, [stored[1].Next(now, m => m with { State = MembershipState.Left })]))).WaitAsync(Timeout);
            Assert.Equal(1, applied.Count(c => c));
            Assert.Equal(1, await first.Memberships.CountMembersAsync(name).WaitAsync(Timeout));
            Assert.Equal(1, (await second.Rooms.FindByNameAsync(name).WaitAsync(Timeout))!.MembershipVersion);
        }
    }

    [Fact]
    public async Task Membership_reads_the_room_list_and_the_directory_are_served_by_indexes()
    {
        var file = _directory.File("plans.db");
        await using (var store = Open(file))
        {
            await store.InitializeAsync().WaitAsync(Timeout);
        }

        using var raw = Raw(file);
        Execute(raw, "ANALYZE;");
        foreach (var sql in new[] { SqliteChatStore.SelectRoomList, SqliteChatStore.SelectMembers, SqliteChatStore.SelectBans, SqliteChatStore.CountMembers, SqliteChatStore.SearchUsers, SqliteChatStore.SelectMembershipsOfUser, SqliteChatStore.SelectMembership })
        {
            using var command = raw.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            foreach (var name in new[] { "$user", "$room", "$now", "$low", "$high", "$limit" })
            {
                command.Parameters.AddWithValue(name, name == "$limit" || name == "$now" ? 1L : "x");
            }

            var plan = new List<string>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    plan.Add(reader.GetString(3));
                }
            }

            // Only the CTE of visible rooms (already narrowed by indexes) may be scanned; every table access is a SEARCH.
            var scans = plan.Where(p => p.StartsWith("SCAN", StringComparison.Ordinal) && p != "SCAN v").ToList();
            Assert.True(scans.Count == 0, $"{sql}\n{string.Join("\n", plan)}");
        }
    }

    [Fact]
    public void Every_statement_of_a_table_comes_from_its_one_column_map()
    {
        var messages = SqliteRows.Messages;
        const string columns = "id, room, seq, author_id, author_name, text, sent_at, client_message_id, version, origin, "
            + "edited_at, deleted, reply_to, thread_root, reactions, mentions, position, changed_at";
        Assert.Equal(columns, messages.SelectList);
        Assert.Equal($"INSERT INTO messages ({columns}) VALUES ({string.Join(", ", columns.Split(", ").Select(c => "$" + c))}) ON CONFLICT DO NOTHING;", messages.InsertUnlessExists);
        Assert.EndsWith("ON CONFLICT (id) DO UPDATE SET room = excluded.room, seq = excluded.seq, author_id = excluded.author_id, author_name = excluded.author_name, "
            + "text = excluded.text, sent_at = excluded.sent_at, client_message_id = excluded.client_message_id, version = excluded.version, origin = excluded.origin, "
            + "edited_at = excluded.edited_at, deleted = excluded.deleted, reply_to = excluded.reply_to, thread_root = excluded.thread_root, "
            + "reactions = excluded.reactions, mentions = excluded.mentions, "
            + "position = excluded.position, changed_at = excluded.changed_at WHERE excluded.version > messages.version;", messages.UpsertIfNewer, StringComparison.Ordinal);

        // The normalized user name is written (its unique index decides registrations) but not read back.
        Assert.DoesNotContain("normalized_user_name", SqliteRows.Users.SelectList, StringComparison.Ordinal);
        Assert.Contains("normalized_user_name = excluded.normalized_user_name", SqliteRows.Users.Upsert, StringComparison.Ordinal);
        Assert.DoesNotContain("WHERE", SqliteRows.Rooms.Upsert, StringComparison.Ordinal);
        Assert.EndsWith("WHERE excluded.version > rooms.version;", SqliteRows.Rooms.UpsertIfNewer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_search_index_matches_the_stored_texts_after_appends_edits_deletes_and_replication()
    {
        var (primaryFile, replicaFile) = (_directory.File("fts-primary.db"), _directory.File("fts-replica.db"));
        await using (var primary = Open(primaryFile))
        await using (var replica = Open(replicaFile))
        {
            var ids = new List<Guid>();
            for (var i = 0; i < 60; i++)
            {
                ids.Add((await primary.Messages.AppendAsync(Message("fts", $"word{i % 7} común {i}", $"k{i}")).WaitAsync(Timeout)).Message.Id);
            }

            var at = DateTimeOffset.UtcNow;
            for (var i = 0; i < 60; i += 3)
            {
                await primary.Messages.UpdateAsync("fts", ids[i], new EditMessageText($"rewritten {i} común", []), at).WaitAsync(Timeout);
                await primary.Messages.UpdateAsync("fts", ids[i + 1], new DeleteMessage(), at).WaitAsync(Timeout);
                await primary.Messages.UpdateAsync("fts", ids[i + 2], new AddReaction("👍", Guid.NewGuid(), 20), at).WaitAsync(Timeout);
            }

            // The replica gets the documents in two passes: first versions, then the latest ones over them.
            var feed = (await primary.Replication.ReadChangesAsync(0, 10_000).WaitAsync(Timeout)).Changes;
            await replica.Replication.ApplyAsync(new ReplicationWrite(feed, "p", 1, feed[^1].Position)).WaitAsync(Timeout);
            Assert.Equal(40, (await replica.Messages.SearchAsync(new MessageSearch(["comun"], ["fts"], null, 100)).WaitAsync(Timeout)).Count);
            Assert.Equal(20, (await replica.Messages.SearchAsync(new MessageSearch(["rewritten"], ["fts"], null, 100)).WaitAsync(Timeout)).Count);
        }

        foreach (var file in new[] { primaryFile, replicaFile })
        {
            using var raw = Raw(file);
            Execute(raw, "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1);"); // fails when the index and the texts differ
            Assert.Equal(40L, Scalar(raw, "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'comun';"));
            Assert.Equal(0L, Scalar(raw, "SELECT COUNT(*) FROM messages m JOIN messages_fts f ON f.rowid = m.rowid WHERE messages_fts MATCH 'comun' AND m.deleted = 1;"));
            Assert.Equal(20L, Scalar(raw, "SELECT COUNT(*) FROM messages WHERE deleted = 1 AND text = '' AND reactions IS NULL AND mentions IS NULL;"));
            Assert.Equal("ok", Scalar(raw, "PRAGMA integrity_check;"));
        }
    }

    [Fact]
    public async Task A_batch_size_of_one_commits_once_per_append()
    {
        await using var store = Open(_directory.File("single.db"), o => o.MaxBatchSize = 1);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => store.Messages.AppendAsync(Message("single", $"m{i}")))).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), results.Select(r => r.Message.Seq).Order());
        Assert.Equal(200, store.CommittedTransactions);
    }

    [Fact]
    public async Task A_failing_write_in_a_batch_does_not_undo_the_others()
    {
        var file = _directory.File("savepoint.db");
        await using var store = Open(file);
        await store.Replication.ApplyAsync(new ReplicationWrite([], "primary", 10, 1)).WaitAsync(Timeout);

        Task<AppendResult>[] appends;
        Task<int> stale;
        using (var locker = Raw(file))
        {
            using var hold = locker.BeginTransaction(deferred: false);
            var before = Enumerable.Range(0, 5).Select(i => store.Messages.AppendAsync(Message("mixed", $"a{i}"))).ToArray();
            stale = store.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForRoom(1, DateTimeOffset.UtcNow, Room("stale"))], "primary", 3, 2));
            var after = Enumerable.Range(0, 5).Select(i => store.Messages.AppendAsync(Message("mixed", $"b{i}"))).ToArray();
            appends = [.. before, .. after];
            hold.Commit();
        }

        await Assert.ThrowsAsync<FencingTokenRejectedException>(() => stale.WaitAsync(Timeout));
        var results = await Task.WhenAll(appends).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), results.Select(r => r.Message.Seq).Order());
        Assert.Null(await store.Rooms.FindByNameAsync("stale").WaitAsync(Timeout));
        Assert.Equal(10, await store.Messages.GetLastSeqAsync("mixed").WaitAsync(Timeout));
    }

    [Fact]
    public async Task Writers_in_several_processes_share_one_gap_free_sequence()
    {
        var writer = typeof(SqliteStoreTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "ChitChat.Sqlite.Writer").Value!;
        Assert.True(File.Exists(writer), $"the helper process is built at {writer}");
        var file = _directory.File("shared.db");
        const int perProcess = 400;

        // A generous busy timeout: three processes contend for one write lock on a loaded machine.
        await using var store = Open(file, o => o.BusyTimeout = TimeSpan.FromSeconds(60));
        await store.InitializeAsync().WaitAsync(Timeout);
        using var first = WriterProcess.Start(writer, file, "shared", perProcess, 16, "p1");
        using var second = WriterProcess.Start(writer, file, "shared", perProcess, 16, "p2");
        await first.WaitReadyAsync().WaitAsync(Timeout);
        await second.WaitReadyAsync().WaitAsync(Timeout);

        first.Go();
        second.Go();
        var local = Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = w; i < perProcess; i += 16)
            {
                Assert.True((await store.Messages.AppendAsync(Message("shared", $"p0 {i}", $"p0-{i}"))).Created);
            }
        })));
        var writersDone = Task.WhenAll(local, first.WaitForExitAsync(), second.WaitForExitAsync());

        // Meanwhile this process's readers see the other processes' commits: a gap-free prefix that never shrinks.
        long seen = 0;
        while (!writersDone.IsCompleted)
        {
            var page = await store.Messages.QueryAsync("shared", new MessageQuery(seen, null, 3 * perProcess)).WaitAsync(Timeout);
            Assert.Equal(Enumerable.Range((int)seen + 1, page.Count).Select(i => (long)i), page.Select(m => m.Seq));
            seen += page.Count;
        }

        await local.WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(0, await first.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3)));
        Assert.Equal(0, await second.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3)));

        const int total = 3 * perProcess;
        Assert.Equal(total, await store.Messages.GetLastSeqAsync("shared").WaitAsync(Timeout));
        var stored = await store.Messages.QueryAsync("shared", new MessageQuery(0, null, total + 10)).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), stored.Select(m => m.Seq));
        Assert.Equal(total, stored.Select(m => m.ClientMessageId).Distinct().Count());
        foreach (var label in new[] { "p0", "p1", "p2" })
        {
            Assert.Equal(perProcess, stored.Count(m => m.ClientMessageId!.StartsWith(label + "-", StringComparison.Ordinal)));
        }

        // The change feed of the shared file is gap-free in content too: each message exactly once.
        var feed = await store.Replication.ReadChangesAsync(0, total + 10).WaitAsync(Timeout);
        Assert.Equal(total, feed.Changes.Select(c => c.DocumentId).Distinct().Count());
        using var raw = Raw(file);
        Assert.Equal("ok", Scalar(raw, "PRAGMA integrity_check;"));
    }

    [Fact]
    public async Task Replicated_versions_update_in_place_take_a_position_only_when_they_change_and_keep_room_counters()
    {
        await using var store = Open(_directory.File("apply.db"));
        var replication = store.Replication;
        var now = DateTimeOffset.UtcNow;
        var v1 = new ChatMessage(Guid.CreateVersion7(), "r", 5, Guid.CreateVersion7(), "a", "one", now, "k1", 1);
        Task<int> Apply(ChatMessage m) => replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForMessage(1, now, m)], "primary", 1, null));

        Assert.Equal(1, await Apply(v1).WaitAsync(Timeout));
        Assert.Equal(1L, await replication.GetHeadPositionAsync().WaitAsync(Timeout));
        Assert.Equal(5L, await store.Messages.GetLastSeqAsync("r").WaitAsync(Timeout));

        // Re-applying the same or an older version changes nothing and takes no position.
        Assert.Equal(0, await Apply(v1).WaitAsync(Timeout));
        var v2 = v1 with { Seq = 7, Text = "two", Version = 2 };
        Assert.Equal(1, await Apply(v2).WaitAsync(Timeout));
        Assert.Equal(0, await Apply(v1).WaitAsync(Timeout));
        Assert.Equal(2L, await replication.GetHeadPositionAsync().WaitAsync(Timeout));
        Assert.Equal(v2, Assert.Single(await store.Messages.QueryAsync("r", new MessageQuery(null, null, 10)).WaitAsync(Timeout)));
        Assert.Equal(7L, await store.Messages.GetLastSeqAsync("r").WaitAsync(Timeout));

        // A different message at the same seq (a collision: the constraint fires) replaces the holder.
        var other = new ChatMessage(Guid.CreateVersion7(), "r", 7, Guid.CreateVersion7(), "b", "other", now, "k1", 1);
        Assert.Equal(1, await Apply(other).WaitAsync(Timeout));
        Assert.Equal(3L, await replication.GetHeadPositionAsync().WaitAsync(Timeout));
        Assert.Equal(other, Assert.Single(await store.Messages.QueryAsync("r", new MessageQuery(null, null, 10)).WaitAsync(Timeout)));

        // Local appends continue after the replicated seq.
        var appended = await store.Messages.AppendAsync(Message("r", "local")).WaitAsync(Timeout);
        Assert.Equal(8L, appended.Message.Seq);
    }

    [Fact]
    public async Task A_write_lock_held_beyond_the_busy_timeout_makes_writes_unavailable_and_writes_nothing()
    {
        var file = _directory.File("write-locked.db");
        await using var store = Open(file, o => o.BusyTimeout = TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, (await store.Messages.AppendAsync(Message("locked", "before")).WaitAsync(Timeout)).Message.Seq);

        using (var locker = Raw(file))
        {
            using var hold = locker.BeginTransaction(deferred: false); // another writer that never lets go
            var ex = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => store.Messages.AppendAsync(Message("locked", "during", "k")).WaitAsync(Timeout));
            Assert.Equal(ChatErrorCodes.Unavailable, ex.Code);
            Assert.NotNull(ex.RetryAfter);
            await store.PingAsync().WaitAsync(Timeout); // WAL: readers are not blocked by a writer
            hold.Rollback();
        }

        // Nothing half-written: the failed append left no message, no sequence number and no key.
        Assert.Equal(1, await store.Messages.GetLastSeqAsync("locked").WaitAsync(Timeout));
        Assert.Null(await store.Messages.FindByClientMessageIdAsync("locked", "k").WaitAsync(Timeout));
        var after = await store.Messages.AppendAsync(Message("locked", "after", "k")).WaitAsync(Timeout);
        Assert.True(after.Created);
        Assert.Equal(2, after.Message.Seq);
    }

    [Fact]
    public async Task A_file_held_in_exclusive_locking_mode_makes_the_store_unavailable_until_released()
    {
        var file = _directory.File("exclusive.db");
        await using (var first = Open(file))
        {
            Assert.Equal(1, (await first.Messages.AppendAsync(Message("locked", "before")).WaitAsync(Timeout)).Message.Seq);
        }

        await using var store = Open(file, o => o.BusyTimeout = TimeSpan.FromMilliseconds(200));
        using (var locker = Raw(file))
        {
            // Another process owns the file: exclusive locking mode plus a write keeps every other connection out.
            Scalar(locker, "PRAGMA locking_mode = EXCLUSIVE;");
            Scalar(locker, "BEGIN IMMEDIATE; UPDATE change_position SET position = position WHERE id = 1; COMMIT;");

            var ex = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => store.Messages.AppendAsync(Message("locked", "during", "k")).WaitAsync(Timeout));
            Assert.Equal(ChatErrorCodes.Unavailable, ex.Code);
            await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => store.PingAsync().WaitAsync(Timeout));
            await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => store.Messages.GetLastSeqAsync("locked").WaitAsync(Timeout));
        }

        // Released: the same store instance recovers, and the failed append left nothing behind.
        await store.PingAsync().WaitAsync(Timeout);
        Assert.Equal(1, await store.Messages.GetLastSeqAsync("locked").WaitAsync(Timeout));
        Assert.Null(await store.Messages.FindByClientMessageIdAsync("locked", "k").WaitAsync(Timeout));
        var after = await store.Messages.AppendAsync(Message("locked", "after", "k")).WaitAsync(Timeout);
        Assert.True(after.Created);
        Assert.Equal(2, after.Message.Seq);
        using var raw = Raw(file);
        Assert.Equal("ok", Scalar(raw, "PRAGMA integrity_check;"));
    }

    [Fact]
    public async Task A_file_that_cannot_be_opened_makes_the_store_unavailable()
    {
        var directoryAsFile = Path.Combine(_directory.Path, "is-a-directory");
        Directory.CreateDirectory(directoryAsFile);
        await using var store = Open(directoryAsFile);
        var ex = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => store.InitializeAsync().WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.Unavailable, ex.Code);
        await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => store.PingAsync().WaitAsync(Timeout));
    }

    [Theory]
    [InlineData(null, 256, "ConnectionString is required")]
    [InlineData("Data Source=:memory:", 256, "in-memory")]
    [InlineData("Data Source=x.db", 0, "MaxBatchSize")]
    [InlineData("Data Source=x.db", 10_001, "MaxBatchSize")]
    public void Invalid_options_are_refused(string? connectionString, int maxBatchSize, string expected)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => new SqliteChatStore(new SqliteStoreOptions { ConnectionString = connectionString, MaxBatchSize = maxBatchSize }));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseSqlite_validates_options_at_start_up()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddChitChat().UseSqlite(o =>
        {
            o.ConnectionString = $"Data Source={_directory.File("bad.db")};Password=secret-value";
            o.MaxBatchSize = 0;
        });
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Contains("MaxBatchSize", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseSqlite_replaces_the_store_and_the_host_initializes_it()
    {
        var file = Path.Combine(_directory.Path, "data", "chitchat.db");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddChitChat(o => o.PasswordHashIterations = 1000).UseSqlite($"Data Source={file}");
        using (var host = builder.Build())
        {
            await host.StartAsync().WaitAsync(Timeout);
            var store = host.Services.GetRequiredService<IChatStore>();
            Assert.IsType<SqliteChatStore>(store);
            Assert.NotNull(await store.Rooms.FindByNameAsync("global").WaitAsync(Timeout)); // created by the initializer
            await host.StopAsync().WaitAsync(Timeout);
        }

        Assert.True(File.Exists(file));
        Directory.Delete(_directory.Path, recursive: true); // the container closed the file
    }

    [Fact]
    public async Task The_factory_builds_sqlite_stores_by_provider_name()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddChitChat().AddSqliteStoreProvider().AddSqliteStoreProvider();
        await using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IChatStoreFactory>(), f => f.ProviderName == "Sqlite");
        var settings = new ChatStoreSettings { Store = "sqlite", ConnectionString = $"Data Source={_directory.File("replica.db")}" };
        var store = ChatStoreFactories.Create(provider, "replica", settings);
        await using (var sqlite = Assert.IsType<SqliteChatStore>(store))
        {
            await store.InitializeAsync().WaitAsync(Timeout);
            Assert.Equal(1, (await store.Messages.AppendAsync(Message("factory", "hi")).WaitAsync(Timeout)).Message.Seq);
        }

        Assert.Throws<OptionsValidationException>(() => ChatStoreFactories.Create(provider, "replica", new ChatStoreSettings { Store = "Sqlite" }));
        Assert.DoesNotContain("replica.db", settings.ToString(), StringComparison.Ordinal); // never the connection string
    }

    [Fact]
    public async Task Builder_extensions_check_their_arguments()
    {
        var builder = new ServiceCollection().AddChitChat();
        Assert.Throws<ArgumentNullException>("builder", () => SqliteChitChatBuilderExtensions.UseSqlite(null!, "Data Source=x.db"));
        Assert.Throws<ArgumentNullException>("configure", () => builder.UseSqlite((Action<SqliteStoreOptions>)null!));
        Assert.ThrowsAny<ArgumentException>(() => builder.UseSqlite(" "));
        Assert.Throws<ArgumentNullException>("builder", () => SqliteChitChatBuilderExtensions.AddSqliteStoreProvider(null!));
        Assert.Same(builder, builder.UseSqlite("Data Source=x.db"));
        await Task.CompletedTask;
    }

    private static SqliteChatStore Open(string file, Action<SqliteStoreOptions>? configure = null)
    {
        var options = new SqliteStoreOptions { ConnectionString = $"Data Source={file}" };
        configure?.Invoke(options);
        return new SqliteChatStore(options);
    }

    private static SqliteConnection Raw(string file)
    {
        var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static ChatRoom Room(string name) => new(Guid.CreateVersion7(), name, null, DateTimeOffset.UtcNow, 1);

    private static NewMessage Message(string room, string text, string? key = null) =>
        new(Guid.CreateVersion7(), room, Guid.CreateVersion7(), "tester", text, DateTimeOffset.UtcNow, key);
}
