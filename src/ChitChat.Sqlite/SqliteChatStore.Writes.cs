using System.Threading.Channels;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>The write path: one writer loop, group commit, and the write operations.</summary>
public sealed partial class SqliteChatStore
{
    private const string SelectMessageByKey = $"SELECT {SqliteRows.MessageColumns} FROM messages WHERE room = $room AND client_message_id = $key;";
    private const string InsertMessage =
        "INSERT INTO messages (id, room, seq, author_id, author_name, text, sent_at, client_message_id, version, position, changed_at) " +
        "VALUES ($id, $room, $seq, $author_id, $author_name, $text, $sent_at, $client_message_id, $version, $position, $changed_at);";
    private const string UpsertUserSql =
        "INSERT INTO users (id, user_name, normalized_user_name, first_name, last_name, password_hash, created_at, updated_at, version, position, changed_at) " +
        "VALUES ($id, $user_name, $normalized_user_name, $first_name, $last_name, $password_hash, $created_at, $updated_at, $version, $position, $changed_at) " +
        "ON CONFLICT (id) DO UPDATE SET user_name = excluded.user_name, normalized_user_name = excluded.normalized_user_name, first_name = excluded.first_name, " +
        "last_name = excluded.last_name, password_hash = excluded.password_hash, created_at = excluded.created_at, updated_at = excluded.updated_at, " +
        "version = excluded.version, position = excluded.position, changed_at = excluded.changed_at;";
    private const string UpsertRoomSql =
        "INSERT INTO rooms (id, name, created_by, created_at, version, position, changed_at) " +
        "VALUES ($id, $name, $created_by, $created_at, $version, $position, $changed_at) " +
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, created_by = excluded.created_by, created_at = excluded.created_at, " +
        "version = excluded.version, position = excluded.position, changed_at = excluded.changed_at;";

    private WriterConnection? _writer;

    private async Task<T> WriteAsync<T>(Func<WriteContext, T> body, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            EnsureInitialized();
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }

        var operation = new WriteOperation<T>(body, cancellationToken);
        try
        {
            if (!_queue.Writer.TryWrite(operation))
            {
                await _queue.Writer.WriteAsync(operation, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException(nameof(SqliteChatStore), ex);
        }

        // Completed by the writer loop after COMMIT (or with the error that rolled the write back).
        return await operation.Task.ConfigureAwait(false);
    }

    private async Task WriterLoopAsync()
    {
        var batch = new List<WriteOperation>(_options.MaxBatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var operation))
            {
                if (operation.CancellationToken.IsCancellationRequested)
                {
                    operation.Cancel(); // not started: nothing written
                    continue;
                }

                batch.Add(operation);
            }

            if (batch.Count > 0)
            {
                CommitBatch(batch);
            }
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
                    context.Execute("SAVEPOINT w;");
                    try
                    {
                        operation.Execute(context);
                        context.Execute("RELEASE w;");
                    }
                    catch (Exception ex) when (ex is not SqliteException sqlite || !SqliteErrors.IsUnavailable(sqlite))
                    {
                        context.Execute("ROLLBACK TO w;");
                        context.Execute("RELEASE w;");
                        context.ForgetCachedSequences();
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
            if (operation.Succeed())
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
        if (message.ClientMessageId is { } key)
        {
            var original = ctx.QueryMessage(SelectMessageByKey, ("$room", message.Room), ("$key", key));
            if (original is not null)
            {
                return new AppendResult(original, false);
            }
        }

        var stored = message.ToMessage(ctx.LastSeq(message.Room) + 1);
        var insert = ctx.Command(InsertMessage);
        SqliteRows.BindMessage(insert, stored, ctx.NextPosition(), ctx.Now);
        insert.ExecuteNonQuery();
        ctx.SetLastSeq(message.Room, stored.Seq);
        return new AppendResult(stored, true);
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

    private static bool CreateRoom(WriteContext ctx, ChatRoom room)
    {
        if (ctx.Exists("SELECT 1 FROM rooms WHERE id = $id OR name = $name;", ("$id", SqliteRows.Id(room.Id)), ("$name", room.Name)))
        {
            return false;
        }

        PutRoom(ctx, room);
        return true;
    }

    private static void PutUser(WriteContext ctx, ChatUser user)
    {
        var command = ctx.Command(UpsertUserSql);
        SqliteRows.BindUser(command, user, ctx.NextPosition(), ctx.Now);
        command.ExecuteNonQuery();
    }

    private static void PutRoom(WriteContext ctx, ChatRoom room)
    {
        var command = ctx.Command(UpsertRoomSql);
        SqliteRows.BindRoom(command, room, ctx.NextPosition(), ctx.Now);
        command.ExecuteNonQuery();
    }

    private int Apply(WriteContext ctx, ReplicationWrite write)
    {
        var existing = ReadCheckpoint(ctx.Connection, ctx.Transaction, write.SourceId);
        if (existing is not null && existing.FencingToken > write.FencingToken)
        {
            throw new FencingTokenRejectedException(write.SourceId, write.FencingToken, existing.FencingToken);
        }

        var applied = 0;
        foreach (var change in write.Changes)
        {
            applied += change.Kind switch
            {
                DocumentKind.User => UpsertUser(ctx, change.User!),
                DocumentKind.Room => UpsertRoom(ctx, change.Room!),
                _ => UpsertMessage(ctx, change.Message!),
            };
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

    private static int UpsertUser(WriteContext ctx, ChatUser user)
    {
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
        var id = SqliteRows.Id(room.Id);
        if (ctx.Version("SELECT version FROM rooms WHERE id = $id;", id) is { } current && current >= room.Version)
        {
            return 0;
        }

        ctx.NonQuery("DELETE FROM rooms WHERE name = $name AND id <> $id;", ("$name", room.Name), ("$id", id));
        PutRoom(ctx, room);
        return 1;
    }

    private static int UpsertMessage(WriteContext ctx, ChatMessage message)
    {
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

        var insert = ctx.Command(InsertMessage);
        SqliteRows.BindMessage(insert, message, ctx.NextPosition(), ctx.Now);
        insert.ExecuteNonQuery();

        // The room's counter follows its highest stored seq, so the next local append continues after it.
        ctx.NonQuery(
            "INSERT INTO room_sequences (room, last_seq) VALUES ($room, (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = $room)) " +
            "ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq;",
            ("$room", message.Room));
        ctx.ForgetCachedSequences();
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
        }

        public SqliteCommand Command(string sql) => _writer.Command(sql, Transaction);

        public long NextPosition()
        {
            _position ??= Scalar(Connection, "SELECT position FROM change_position WHERE id = 1;", Transaction);
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

        public void SetLastSeq(string room, long seq)
        {
            NonQuery(
                "INSERT INTO room_sequences (room, last_seq) VALUES ($room, $seq) ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq;",
                ("$room", room),
                ("$seq", seq));
            _lastSeqs[room] = seq;
        }

        /// <summary>Drops cached sequence numbers (after a rolled-back savepoint or a replicated message), so they are re-read.</summary>
        public void ForgetCachedSequences() => _lastSeqs.Clear();

        /// <summary>Writes the advanced change position; called once before COMMIT.</summary>
        public void Flush()
        {
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

        public ChatMessage? QueryMessage(string sql, params (string Name, object Value)[] parameters)
        {
            using var reader = Bind(sql, parameters).ExecuteReader();
            return reader.Read() ? SqliteRows.ReadMessage(reader) : null;
        }

        private SqliteCommand Bind(string sql, (string Name, object Value)[] parameters)
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

    /// <summary>A queued write, completed by the writer loop.</summary>
    private abstract class WriteOperation(CancellationToken cancellationToken)
    {
        public CancellationToken CancellationToken { get; } = cancellationToken;

        public abstract void Execute(WriteContext context);

        public abstract bool Succeed();

        public abstract void Fail(Exception exception);

        public abstract void Cancel();
    }

    private sealed class WriteOperation<T>(Func<WriteContext, T> body, CancellationToken cancellationToken) : WriteOperation(cancellationToken)
    {
        // Continuations run on the thread pool, never inline on the writer loop.
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private bool _executed;

        public Task<T> Task => _completion.Task;

        public override void Execute(WriteContext context)
        {
            _result = body(context);
            _executed = true;
        }

        public override bool Succeed() => _executed && _completion.TrySetResult(_result!);

        public override void Fail(Exception exception)
        {
            _executed = false;
            _completion.TrySetException(exception);
        }

        public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
    }
}
