using System.Threading.Channels;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>The write path: one writer loop, group commit, and the write operations.</summary>
public sealed partial class SqliteChatStore
{
    private WriterConnection? _writer;

    private Task<T> WriteAsync<T>(Func<WriteContext, T> body, CancellationToken cancellationToken, bool multiStatement = false) =>
        Enqueue(body, cancellationToken, multiStatement).Completed;

    /// <summary>Queues a write to the writer loop.</summary>
    /// <returns><c>Queued</c> completes when the write is in the channel (at once unless the channel is full), <c>Completed</c>
    /// after COMMIT with the result (or with the error that rolled the write back); both fail or cancel when queueing does.</returns>
    private (Task Queued, Task<T> Completed) Enqueue<T>(Func<WriteContext, T> body, CancellationToken cancellationToken, bool multiStatement)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            var canceled = Task.FromCanceled<T>(cancellationToken);
            return (canceled, canceled);
        }

        try
        {
            EnsureInitialized();
        }
        catch (Exception ex)
        {
            var failed = Task.FromException<T>(Fail(ex));
            return (failed, failed);
        }

        var operation = new WriteOperation<T>(body, cancellationToken, multiStatement);
        if (_queue.Writer.TryWrite(operation))
        {
            return (Task.CompletedTask, operation.Task);
        }

        // Full (back-pressure) or closed (disposed): wait for room; the write is queued when this completes.
        var queued = WaitForRoomAsync(operation, cancellationToken);
        return (queued, CompletedAfterAsync(queued, operation.Task));
    }

    private async Task WaitForRoomAsync(WriteOperation operation, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(operation, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException(nameof(SqliteChatStore), ex);
        }
    }

    private static async Task<T> CompletedAfterAsync<T>(Task queued, Task<T> completed)
    {
        await queued.ConfigureAwait(false);
        return await completed.ConfigureAwait(false);
    }

    private async Task WriterLoopAsync()
    {
        var batch = new List<WriteOperation>(_options.MaxBatchSize);
        var taken = new List<WriteOperation>(_options.MaxBatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            taken.Clear();
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var operation))
            {
                taken.Add(operation);
                if (operation.CancellationToken.IsCancellationRequested)
                {
                    operation.MarkCanceled(); // not started: nothing written
                    continue;
                }

                batch.Add(operation);
            }

            if (batch.Count > 0)
            {
                CommitBatch(batch);
            }

            // One thread-pool work item completes the whole batch, in queue order (so appends complete, and their callers
            // publish, in sequence order), with the callers' continuations inline: one hand-off per batch instead of one
            // per write, and never on this loop, which goes on with the next batch.
            if (taken.Count > 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static operations => CompleteAll(operations), taken.ToArray(), preferLocal: false);
            }
        }
    }

    private static void CompleteAll(WriteOperation[] operations)
    {
        foreach (var operation in operations)
        {
            operation.Complete();
        }
    }

    /// <summary>Runs the operations in one BEGIN IMMEDIATE transaction, each inside a savepoint so that one failing write
    /// (e.g. a stale fencing token) does not undo the others, and completes them only after COMMIT returned.</summary>
    private void CommitBatch(List<WriteOperation> batch)
    {
        try
        {
            var writer = _writer ??= new WriterConnection(_connections.Open());
            using (var transaction = writer.Connection.BeginTransaction(deferred: false))
            {
                var context = writer.Begin(transaction, _time.GetUtcNow());
                foreach (var operation in batch)
                {
                    // Appends and creations change the file with their last statement only (statement-level atomicity),
                    // so only multi-statement writes (replication batches) pay for a savepoint.
                    if (operation.MultiStatement)
                    {
                        // Pending sequence numbers go to the file first, outside the savepoint, so that rolling the
                        // savepoint back cannot take earlier appends' counters with it.
                        context.FlushSequences();
                        context.Execute("SAVEPOINT w;");
                    }

                    try
                    {
                        operation.Execute(context);
                        if (operation.MultiStatement)
                        {
                            context.Execute("RELEASE w;");
                        }
                    }
                    catch (Exception ex) when (ex is not SqliteException sqlite || !SqliteErrors.IsUnavailable(sqlite))
                    {
                        if (operation.MultiStatement)
                        {
                            context.Execute("ROLLBACK TO w;");
                            context.Execute("RELEASE w;");
                        }

                        context.ForgetCleanSequences();
                        operation.Fail(ex);
                    }
                }

                context.Flush();
                transaction.Commit();
            }

            Interlocked.Increment(ref _committedTransactions);
        }
        catch (Exception ex)
        {
            // Nothing of this batch is committed: fail every write that has not failed on its own.
            SqliteLog.BatchFailed(_logger, _name, batch.Count, ex);
            if (ex is SqliteException)
            {
                CloseWriter(); // reopen on the next batch; the connection may be unusable after an I/O error
            }

            var error = Fail(ex);
            foreach (var operation in batch)
            {
                operation.Fail(error);
            }

            return;
        }

        var acknowledged = 0;
        foreach (var operation in batch)
        {
            if (operation.Executed)
            {
                acknowledged++;
            }
        }

        Interlocked.Add(ref _committedWrites, acknowledged);
        SqliteLog.BatchCommitted(_logger, _name, acknowledged);
    }

    private void CloseWriter()
    {
        _writer?.Dispose();
        _writer = null;
    }

    private static AppendResult Append(WriteContext ctx, NewMessage message)
    {
        var stored = message.ToMessage(ctx.LastSeq(message.Room) + 1);
        if (message.ClientMessageId is not { } key)
        {
            var insert = ctx.Command(SqliteRows.Messages.Insert);
            SqliteRows.Messages.Bind(insert, stored, ctx.NextPosition(), ctx.Now);
            insert.ExecuteNonQuery();
        }
        else
        {
            // One statement on the hot path: the unique (room, client_message_id) index decides. Only a retry (nothing
            // inserted) reads the original, and only an insert takes the change position.
            var insert = ctx.Command(SqliteRows.Messages.InsertUnlessExists);
            SqliteRows.Messages.Bind(insert, stored, ctx.PeekNextPosition(), ctx.Now);
            if (insert.ExecuteNonQuery() == 0)
            {
                var original = ctx.QueryMessage(SelectMessageByKey, ("$room", message.Room), ("$key", key))
                    ?? throw new InvalidOperationException($"Appending seq {stored.Seq} to room {message.Room} conflicted with a stored message that is not a retry.");
                return new AppendResult(WithReplies(ctx, original), false);
            }

            ctx.TakeNextPosition();
        }

        ctx.SetLastSeq(message.Room, stored.Seq);
        return new AppendResult(stored, true);
    }

    private static readonly string SelectMessageInRoom = $"{SqliteRows.Messages.Select} WHERE id = $id AND room = $room;";

    private const string UpdateMessageState =
        "UPDATE messages SET text = $text, edited_at = $edited, deleted = $deleted, reactions = $reactions, mentions = $mentions, " +
        "version = $version, position = $position, changed_at = $changed WHERE id = $id;";

    private const string InsertUpdate =
        $"INSERT INTO message_updates ({SqliteRows.UpdateColumns}) VALUES ($room, $seq, $id, $change, $version, $at, $position, $changed) " +
        "ON CONFLICT (room, seq) DO NOTHING;";

    private const string SelectMarker = $"SELECT {SqliteRows.MarkerColumns} FROM read_markers WHERE room = $room AND user_id = $user;";

    private const string UpsertMarker =
        $"INSERT INTO read_markers ({SqliteRows.MarkerColumns}) VALUES ($room, $user, $seq, $updated, $position, $changed) " +
        "ON CONFLICT (room, user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at, position = excluded.position, " +
        "changed_at = excluded.changed_at WHERE excluded.seq > read_markers.seq;";

    /// <summary>The one atomic step of an update: read the current state, apply the mutation's rules to it, store the new
    /// version (the triggers keep the search index and the mentions in the same statement) and the update event with the
    /// room's next seq. Inside BEGIN IMMEDIATE, so no writer of any process runs in between.</summary>
    private static MessageUpdateResult UpdateMessage(WriteContext ctx, string room, Guid id, MessageMutation mutation, DateTimeOffset at)
    {
        var messageId = SqliteRows.Id(id);
        var current = ctx.QueryMessage(SelectMessageInRoom, ("$id", messageId), ("$room", room));
        if (current is null)
        {
            return MessageUpdateResult.NotFound;
        }

        var outcome = mutation.Apply(current, at);
        if (outcome.Status != MutationStatus.Changed)
        {
            return MessageUpdateResult.From(outcome with { Message = WithReplies(ctx, outcome.Message) }, null);
        }

        var next = outcome.Message with { ReplyCount = 0 };
        var seq = ctx.LastSeq(room) + 1;
        ctx.NonQuery(
            UpdateMessageState,
            ("$text", next.Text),
            ("$edited", next.EditedAt is { } edited ? SqliteRows.Ticks(edited) : (object)DBNull.Value),
            ("$deleted", next.Deleted ? 1L : 0L),
            ("$reactions", (object?)SqliteRows.ReactionsJson(next.Reactions) ?? DBNull.Value),
            ("$mentions", (object?)SqliteRows.IdsJson(next.Mentions) ?? DBNull.Value),
            ("$version", next.Version),
            ("$position", ctx.NextPosition()),
            ("$changed", SqliteRows.Ticks(ctx.Now)),
            ("$id", messageId));
        var update = new MessageUpdate(room, seq, id, mutation.Change, next.Version, at);
        if (InsertUpdateRow(ctx, update) == 0)
        {
            throw new InvalidOperationException($"The update event at seq {seq} of room '{room}' is already stored.");
        }

        ctx.SetLastSeq(room, seq);
        return MessageUpdateResult.From(outcome with { Message = WithReplies(ctx, next) }, update);
    }

    private static int InsertUpdateRow(WriteContext ctx, MessageUpdate update)
    {
        var command = ctx.Bind(
            InsertUpdate,
            ("$room", update.Room),
            ("$seq", update.Seq),
            ("$id", SqliteRows.Id(update.MessageId)),
            ("$change", (long)update.Change),
            ("$version", update.MessageVersion),
            ("$at", SqliteRows.Ticks(update.At)),
            ("$position", ctx.PeekNextPosition()),
            ("$changed", SqliteRows.Ticks(ctx.Now)));
        if (command.ExecuteNonQuery() == 0)
        {
            return 0;
        }

        ctx.TakeNextPosition();
        return 1;
    }

    private static (ReadMarker Marker, bool Moved) MarkRead(WriteContext ctx, string room, Guid userId, long seq, DateTimeOffset at)
    {
        var user = SqliteRows.Id(userId);
        if (seq > 0 && UpsertMarkerRow(ctx, new ReadMarker(room, userId, seq, at)) > 0)
        {
            return (new ReadMarker(room, userId, seq, at), true);
        }

        var current = ctx.QuerySingle(SelectMarker, SqliteRows.ReadMarker, ("$room", room), ("$user", user));
        return (current ?? new ReadMarker(room, userId, 0, at), false);
    }

    /// <summary>Stores a marker unless the stored one is as far or further (one statement).</summary>
    private static int UpsertMarkerRow(WriteContext ctx, ReadMarker marker)
    {
        var command = ctx.Bind(
            UpsertMarker,
            ("$room", marker.Room),
            ("$user", SqliteRows.Id(marker.UserId)),
            ("$seq", marker.Seq),
            ("$updated", SqliteRows.Ticks(marker.UpdatedAt)),
            ("$position", ctx.PeekNextPosition()),
            ("$changed", SqliteRows.Ticks(ctx.Now)));
        if (command.ExecuteNonQuery() == 0)
        {
            return 0;
        }

        ctx.TakeNextPosition();
        return 1;
    }

    private static ChatMessage WithReplies(WriteContext ctx, ChatMessage message)
    {
        if (message.ThreadRoot is not null)
        {
            return message.ReplyCount == 0 ? message : message with { ReplyCount = 0 };
        }

        var count = (int)(ctx.Bind(CountReplies, ("$room", message.Room), ("$root", SqliteRows.Id(message.Id))).ExecuteScalar() is long n ? n : 0L);
        return message.ReplyCount == count ? message : message with { ReplyCount = count };
    }

    private static bool CreateUser(WriteContext ctx, ChatUser user)
    {
        if (ctx.Exists("SELECT 1 FROM users WHERE id = $id OR normalized_user_name = $name;", ("$id", SqliteRows.Id(user.Id)), ("$name", user.NormalizedUserName)))
        {
            return false;
        }

        PutUser(ctx, user);
        return true;
    }

    private static bool CreateRoom(WriteContext ctx, ChatRoom room, RoomMembership[] members)
    {
        if (ctx.Exists("SELECT 1 FROM rooms WHERE id = $id OR name = $name;", ("$id", SqliteRows.Id(room.Id)), ("$name", room.Name)))
        {
            return false;
        }

        // The room and its members in one write (a savepoint when there are members): all or nothing. Memberships left
        // from an earlier room of the same name (replicated drift) are replaced.
        PutRoom(ctx, room);
        foreach (var member in members)
        {
            PutMembership(ctx, member);
        }

        return true;
    }

    private static readonly string SelectRoomById = $"{SqliteRows.Rooms.Select} WHERE id = $id;";
    private static readonly string SelectRoomByNameForWrite = $"{SqliteRows.Rooms.Select} WHERE name = $name;";

    private static bool UpdateRoom(WriteContext ctx, ChatRoom room)
    {
        var current = ctx.QuerySingle(SelectRoomById, SqliteRows.Rooms.Read, ("$id", SqliteRows.Id(room.Id)));
        if (current is null
            || current.Version != room.Version - 1
            || current.Name != room.Name
            || current.Kind != room.Kind
            || current.MembershipVersion != room.MembershipVersion)
        {
            return false;
        }

        PutRoom(ctx, room);
        return true;
    }

    private static bool ApplyMemberships(WriteContext ctx, string roomName, long expected, RoomMembership[] writes)
    {
        // Inside BEGIN IMMEDIATE: no other writer (of any process) runs between the check and the writes.
        var room = ctx.QuerySingle(SelectRoomByNameForWrite, SqliteRows.Rooms.Read, ("$name", roomName));
        if (room is null || room.MembershipVersion != expected)
        {
            return false;
        }

        foreach (var write in writes)
        {
            var stored = ctx.QuerySingle(SelectMembership, SqliteRows.Memberships.Read, ("$room", roomName), ("$user", SqliteRows.Id(write.UserId)));
            StoreArguments.CheckNewerThanStored(write, stored?.Version);
        }

        foreach (var write in writes)
        {
            PutMembership(ctx, write);
        }

        PutRoom(ctx, room with { MembershipVersion = room.MembershipVersion + 1, Version = room.Version + 1 });
        return true;
    }

    private static void PutMembership(WriteContext ctx, RoomMembership membership)
    {
        var command = ctx.Command(SqliteRows.Memberships.Upsert);
        SqliteRows.Memberships.Bind(command, membership, ctx.NextPosition(), ctx.Now);
        command.ExecuteNonQuery();
    }

    private static void PutUser(WriteContext ctx, ChatUser user)
    {
        var command = ctx.Command(SqliteRows.Users.Upsert);
        SqliteRows.Users.Bind(command, user, ctx.NextPosition(), ctx.Now);
        command.ExecuteNonQuery();
    }

    private static void PutRoom(WriteContext ctx, ChatRoom room)
    {
        var command = ctx.Command(SqliteRows.Rooms.Upsert);
        SqliteRows.Rooms.Bind(command, room, ctx.NextPosition(), ctx.Now);
        command.ExecuteNonQuery();
    }

    private int Apply(WriteContext ctx, ReplicationWrite write)
    {
        var existing = ReadCheckpoint(ctx.Bind(SelectCheckpoint, ("$source", write.SourceId)));
        if (existing is not null && existing.FencingToken > write.FencingToken)
        {
            throw new FencingTokenRejectedException(write.SourceId, write.FencingToken, existing.FencingToken);
        }

        var applied = 0;
        var rooms = ctx.TouchedRooms;
        rooms.Clear();
        foreach (var change in write.Changes)
        {
            applied += change.Kind switch
            {
                DocumentKind.User => UpsertUser(ctx, change.User!),
                DocumentKind.Room => UpsertRoom(ctx, change.Room!),
                DocumentKind.Membership => UpsertMembership(ctx, change.Membership!),
                DocumentKind.MessageUpdate => UpsertUpdate(ctx, change.Update!),
                DocumentKind.ReadMarker => UpsertMarkerRow(ctx, change.ReadMarker!),
                _ => UpsertMessage(ctx, change.Message!),
            };
        }

        if (rooms.Count > 0)
        {
            // Each touched room's counter follows its highest stored seq, so the next local append continues after it.
            // Once per room per batch: the result depends only on the rows, not on the order they were written in.
            foreach (var room in rooms)
            {
                ctx.NonQuery(
                    "INSERT INTO room_sequences (room, last_seq) VALUES ($room, MAX((SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = $room), " +
                    "(SELECT COALESCE(MAX(seq), 0) FROM message_updates WHERE room = $room))) " +
                    "ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq;",
                    ("$room", room));
            }

            rooms.Clear();
            ctx.ForgetCachedSequences();
        }

        // The checkpoint commits in the same transaction as the documents.
        var checkpoint = ctx.Command(
            "INSERT INTO replica_checkpoints (source_id, position, fencing_token, updated_at) VALUES ($source, $position, $token, $updated) " +
            "ON CONFLICT (source_id) DO UPDATE SET position = excluded.position, fencing_token = excluded.fencing_token, updated_at = excluded.updated_at;");
        checkpoint.Parameters.Clear();
        checkpoint.Parameters.AddWithValue("$source", write.SourceId);
        checkpoint.Parameters.AddWithValue("$position", write.Checkpoint ?? existing?.Position ?? 0);
        checkpoint.Parameters.AddWithValue("$token", Math.Max(write.FencingToken, existing?.FencingToken ?? 0));
        checkpoint.Parameters.AddWithValue("$updated", SqliteRows.Ticks(_time.GetUtcNow()));
        checkpoint.ExecuteNonQuery();
        return applied;
    }

    /// <summary>The common case in one statement: insert a new document, or replace an older version of it in place
    /// (last writer wins by version; an equal or newer stored version makes it a no-op that returns 0). A drifted
    /// document holding the same unique name, seq or idempotency key makes the statement fail with a constraint error
    /// (statement-level, nothing changed), and only then the slower path resolves the collision.</summary>
    private static int TryUpsert<T>(WriteContext ctx, SqliteTable<T> table, T document)
    {
        var command = ctx.Command(table.UpsertIfNewer);
        table.Bind(command, document, ctx.PeekNextPosition(), ctx.Now);
        try
        {
            if (command.ExecuteNonQuery() == 0)
            {
                return 0;
            }
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteErrors.Constraint)
        {
            return -1;
        }

        ctx.TakeNextPosition();
        return 1;
    }

    private static int UpsertUser(WriteContext ctx, ChatUser user)
    {
        var fast = TryUpsert(ctx, SqliteRows.Users, user);
        if (fast >= 0)
        {
            return fast;
        }

        var id = SqliteRows.Id(user.Id);
        if (ctx.Version("SELECT version FROM users WHERE id = $id;", id) is { } current && current >= user.Version)
        {
            return 0;
        }

        // A different user holding the same name (drift) loses to the replicated one.
        ctx.NonQuery("DELETE FROM users WHERE normalized_user_name = $name AND id <> $id;", ("$name", user.NormalizedUserName), ("$id", id));
        PutUser(ctx, user);
        return 1;
    }

    private static int UpsertRoom(WriteContext ctx, ChatRoom room)
    {
        var fast = TryUpsert(ctx, SqliteRows.Rooms, room);
        if (fast >= 0)
        {
            return fast;
        }

        var id = SqliteRows.Id(room.Id);
        if (ctx.Version("SELECT version FROM rooms WHERE id = $id;", id) is { } current && current >= room.Version)
        {
            return 0;
        }

        ctx.NonQuery("DELETE FROM rooms WHERE name = $name AND id <> $id;", ("$name", room.Name), ("$id", id));
        PutRoom(ctx, room);
        return 1;
    }

    private static int UpsertMembership(WriteContext ctx, RoomMembership membership)
    {
        // Keyed by (room, user_id) and no other unique key: the one statement always decides.
        var fast = TryUpsert(ctx, SqliteRows.Memberships, membership);
        return fast >= 0 ? fast : throw new InvalidOperationException($"The membership of user {membership.UserId} in room '{membership.Room}' could not be stored.");
    }

    private static int UpsertUpdate(WriteContext ctx, MessageUpdate update)
    {
        // Immutable and keyed by (room, seq): the same event twice is stored once.
        var inserted = InsertUpdateRow(ctx, update);
        if (inserted > 0)
        {
            ctx.TouchedRooms.Add(update.Room);
        }

        return inserted;
    }

    private static int UpsertMessage(WriteContext ctx, ChatMessage message)
    {
        if (message.ReplyCount != 0)
        {
            message = message with { ReplyCount = 0 }; // derived at read, never stored
        }

        var fast = TryUpsert(ctx, SqliteRows.Messages, message);
        if (fast == 0)
        {
            return 0;
        }

        ctx.TouchedRooms.Add(message.Room);
        if (fast > 0)
        {
            return 1;
        }

        var id = SqliteRows.Id(message.Id);
        if (ctx.Version("SELECT version FROM messages WHERE id = $id;", id) is { } current && current >= message.Version)
        {
            return 0;
        }

        // The replicated message keeps its seq: it replaces its older version and any drifted message that holds its
        // seq or its idempotency key in the room (the in-memory reference store resolves collisions the same way).
        ctx.NonQuery("DELETE FROM messages WHERE id = $id;", ("$id", id));
        ctx.NonQuery("DELETE FROM messages WHERE room = $room AND seq = $seq;", ("$room", message.Room), ("$seq", message.Seq));
        if (message.ClientMessageId is { } key)
        {
            ctx.NonQuery("DELETE FROM messages WHERE room = $room AND client_message_id = $key;", ("$room", message.Room), ("$key", key));
        }

        var insert = ctx.Command(SqliteRows.Messages.Insert);
        SqliteRows.Messages.Bind(insert, message, ctx.NextPosition(), ctx.Now);
        insert.ExecuteNonQuery();
        return 1;
    }

    /// <summary>The writer's connection and its prepared statements (reused across batches).</summary>
    private sealed class WriterConnection(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
        private readonly WriteContext _context = new();

        public SqliteConnection Connection { get; } = connection;

        public WriteContext Begin(SqliteTransaction transaction, DateTimeOffset now)
        {
            _context.Reset(this, transaction, now);
            return _context;
        }

        public SqliteCommand Command(string sql, SqliteTransaction transaction)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = Connection.CreateCommand();
                command.CommandText = sql;
                _commands[sql] = command;
            }

            command.Transaction = transaction;
            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _commands.Clear();
            Connection.Dispose();
        }
    }

    /// <summary>The state of one write transaction: the global change position and room sequence numbers, read from the file
    /// once per transaction (another process may have written since the last one) and advanced in memory.</summary>
    private sealed class WriteContext
    {
        private readonly Dictionary<string, long> _lastSeqs = new(StringComparer.Ordinal);
        private readonly HashSet<string> _dirtyRooms = new(StringComparer.Ordinal);
        private WriterConnection _writer = null!;
        private long? _position;
        private bool _positionChanged;

        public SqliteConnection Connection => _writer.Connection;

        public SqliteTransaction Transaction { get; private set; } = null!;

        public DateTimeOffset Now { get; private set; }

        public void Reset(WriterConnection writer, SqliteTransaction transaction, DateTimeOffset now)
        {
            _writer = writer;
            Transaction = transaction;
            Now = now;
            _position = null;
            _positionChanged = false;
            _lastSeqs.Clear();
            _dirtyRooms.Clear();
        }

        public SqliteCommand Command(string sql) => _writer.Command(sql, Transaction);

        /// <summary>Gets the rooms whose messages a replication batch changed (their counters are recomputed once at its end).</summary>
        public HashSet<string> TouchedRooms { get; } = new(StringComparer.Ordinal);

        /// <summary>Returns the position the next change will take, without taking it (for a write that may change nothing).</summary>
        public long PeekNextPosition()
        {
            _position ??= Scalar(Command(SelectHead));
            return _position.Value + 1;
        }

        /// <summary>Takes the position returned by <see cref="PeekNextPosition"/>.</summary>
        public void TakeNextPosition() => NextPosition();

        public long NextPosition()
        {
            _position ??= Scalar(Command(SelectHead));
            _positionChanged = true;
            _position++;
            return _position.Value;
        }

        public long LastSeq(string room)
        {
            if (!_lastSeqs.TryGetValue(room, out var last))
            {
                var command = Command("SELECT last_seq FROM room_sequences WHERE room = $room;");
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$room", room);
                last = command.ExecuteScalar() is long value ? value : 0L;
                _lastSeqs[room] = last;
            }

            return last;
        }

        /// <summary>Records a room's new last sequence number; written to the file by <see cref="FlushSequences"/> (once per room per transaction).</summary>
        public void SetLastSeq(string room, long seq)
        {
            _lastSeqs[room] = seq;
            _dirtyRooms.Add(room);
        }

        /// <summary>Writes the sequence numbers advanced by appends in this transaction.</summary>
        public void FlushSequences()
        {
            foreach (var room in _dirtyRooms)
            {
                NonQuery(
                    "INSERT INTO room_sequences (room, last_seq) VALUES ($room, $seq) ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq;",
                    ("$room", room),
                    ("$seq", _lastSeqs[room]));
            }

            _dirtyRooms.Clear();
        }

        /// <summary>Drops every cached sequence number after a replicated message rewrote room_sequences (flushed before).</summary>
        public void ForgetCachedSequences()
        {
            _lastSeqs.Clear();
            _dirtyRooms.Clear();
        }

        /// <summary>Drops the cached sequence numbers that are already in the file (after a failed write), keeping pending ones.</summary>
        public void ForgetCleanSequences()
        {
            foreach (var room in _lastSeqs.Keys.Where(r => !_dirtyRooms.Contains(r)).ToArray())
            {
                _lastSeqs.Remove(room);
            }
        }

        /// <summary>Writes the advanced sequence numbers and change position; called once before COMMIT.</summary>
        public void Flush()
        {
            FlushSequences();
            if (_positionChanged)
            {
                NonQuery("UPDATE change_position SET position = $position WHERE id = 1;", ("$position", _position!.Value));
            }
        }

        public void Execute(string sql) => Command(sql).ExecuteNonQuery();

        public void NonQuery(string sql, params (string Name, object Value)[] parameters)
        {
            var command = Bind(sql, parameters);
            command.ExecuteNonQuery();
        }

        public bool Exists(string sql, params (string Name, object Value)[] parameters) => Bind(sql, parameters).ExecuteScalar() is not null;

        public long? Version(string sql, string id) => Bind(sql, [("$id", id)]).ExecuteScalar() is long version ? version : null;

        public T? QuerySingle<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object Value)[] parameters)
            where T : class
        {
            using var reader = Bind(sql, parameters).ExecuteReader();
            return reader.Read() ? map(reader) : null;
        }

        public ChatMessage? QueryMessage(string sql, params (string Name, object Value)[] parameters)
        {
            using var reader = Bind(sql, parameters).ExecuteReader();
            return reader.Read() ? SqliteRows.Messages.Read(reader) : null;
        }

        public SqliteCommand Bind(string sql, params (string Name, object Value)[] parameters)
        {
            var command = Command(sql);
            command.Parameters.Clear();
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            return command;
        }
    }

    /// <summary>A queued write. The writer loop executes it and records its outcome; <see cref="Complete"/> then completes
    /// its task (off the writer loop, after COMMIT) with the result, the error or the cancellation.</summary>
    private abstract class WriteOperation(CancellationToken cancellationToken, bool multiStatement)
    {
        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>Gets whether the write runs several changing statements and so needs a savepoint to fail alone.</summary>
        public bool MultiStatement { get; } = multiStatement;

        /// <summary>Gets whether the write executed and has not failed (since).</summary>
        public abstract bool Executed { get; }

        public abstract void Execute(WriteContext context);

        /// <summary>Records a failure; a write that already failed on its own keeps its own error.</summary>
        public abstract void Fail(Exception exception);

        public abstract void MarkCanceled();

        /// <summary>Completes the task with the recorded outcome; the awaiting callers' continuations run inline.</summary>
        public abstract void Complete();
    }

    private sealed class WriteOperation<T>(Func<WriteContext, T> body, CancellationToken cancellationToken, bool multiStatement) : WriteOperation(cancellationToken, multiStatement)
    {
        private const int Pending = 0, Succeeded = 1, Failed = 2, Canceled = 3;

        // Continuations run inline in Complete, which CompleteAll calls on a thread-pool thread, never on the writer loop.
        private readonly TaskCompletionSource<T> _completion = new();
        private T? _result;
        private Exception? _error;
        private int _state;

        public Task<T> Task => _completion.Task;

        public override bool Executed => _state == Succeeded;

        public override void Execute(WriteContext context)
        {
            _result = body(context);
            _state = Succeeded;
        }

        public override void Fail(Exception exception)
        {
            if (_state != Failed)
            {
                _error = exception;
                _state = Failed;
            }
        }

        public override void MarkCanceled() => _state = Canceled;

        public override void Complete()
        {
            switch (_state)
            {
                case Succeeded:
                    _completion.TrySetResult(_result!);
                    break;
                case Canceled:
                    _completion.TrySetCanceled(CancellationToken);
                    break;
                default:
                    _completion.TrySetException(_error ?? new InvalidOperationException("The write was not executed."));
                    break;
            }
        }
    }
}
