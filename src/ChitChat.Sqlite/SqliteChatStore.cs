using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChitChat.Sqlite;

/// <summary>
/// A ChitChat store in one SQLite file: WAL journal, <c>synchronous=FULL</c>, schema versioned with <c>user_version</c>.
/// Every write goes through one writer loop that commits up to <see cref="SqliteStoreOptions.MaxBatchSize"/> queued writes in
/// one <c>BEGIN IMMEDIATE</c> transaction (group commit) and acknowledges them after the commit, so an acknowledged append is
/// durable. Sequence numbers are assigned inside that transaction from the file's own counters, so several processes can
/// write the same file. Reads use a small pool of connections and see committed data only.
/// </summary>
public sealed partial class SqliteChatStore : IChatStore, IUserStore, IRoomStore, IMessageStore, IReplicationStore, IAsyncDisposable, IDisposable
{
    private const int ScanPageSize = 500;

    private readonly SqliteStoreOptions _options;
    private readonly SqliteConnectionFactory _connections;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Channel<WriteOperation> _queue;
    private readonly Lock _lifecycle = new();
    private readonly Lock _readersGate = new();
    private readonly Stack<SqliteConnection> _idleReaders = new();
    private Task? _writerLoop;
    private volatile bool _initialized;
    private bool _disposed;
    private long _committedTransactions;
    private long _committedWrites;

    /// <summary>Initializes a new instance. Call <see cref="InitializeAsync"/> before use (the first operation also does).</summary>
    /// <param name="options">The options; <see cref="SqliteStoreOptions.ConnectionString"/> is required.</param>
    /// <param name="timeProvider">The clock for change timestamps; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="name">A logical name for logs (e.g. <c>primary</c>).</param>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public SqliteChatStore(SqliteStoreOptions options, TimeProvider? timeProvider = null, ILogger<SqliteChatStore>? logger = null, string name = "default")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(name);
        var validation = new SqliteStoreOptionsValidator().Validate(name, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(name, typeof(SqliteStoreOptions), validation.Failures);
        }

        _options = new SqliteStoreOptions
        {
            ConnectionString = options.ConnectionString,
            MaxBatchSize = options.MaxBatchSize,
            BusyTimeout = options.BusyTimeout,
            WriteQueueCapacity = options.WriteQueueCapacity,
            MaxIdleReadConnections = options.MaxIdleReadConnections,
        };
        _connections = new SqliteConnectionFactory(_options.ConnectionString!, _options.BusyTimeout);
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<SqliteChatStore>.Instance;
        _name = name;
        _queue = Channel.CreateBounded<WriteOperation>(new BoundedChannelOptions(_options.WriteQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <inheritdoc />
    public string ProviderName => "sqlite";

    /// <inheritdoc />
    public IUserStore Users => this;

    /// <inheritdoc />
    public IRoomStore Rooms => this;

    /// <inheritdoc />
    public IMessageStore Messages => this;

    /// <inheritdoc />
    public IReplicationStore Replication => this;

    /// <summary>Gets the number of write transactions committed by this instance (for tests of group commit).</summary>
    internal long CommittedTransactions => Interlocked.Read(ref _committedTransactions);

    /// <summary>Gets the number of writes acknowledged by this instance.</summary>
    internal long CommittedWrites => Interlocked.Read(ref _committedWrites);

    /// <summary>Gets the schema version this build creates.</summary>
    internal static int SchemaVersion => SqliteSchema.CurrentVersion;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        try
        {
            EnsureInitialized();
            return Task.CompletedTask;
        }
        catch (Exception ex)
        {
            return Task.FromException(Fail(ex));
        }
    }

    /// <inheritdoc />
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(static c => Scalar(c, "SELECT position FROM change_position WHERE id = 1;"), cancellationToken);

    /// <summary>Stops accepting writes, commits the queued ones, and closes every connection.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _writerLoop;
        }

        _queue.Writer.TryComplete();
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        CloseWriter();
        lock (_readersGate)
        {
            while (_idleReaders.TryPop(out var reader))
            {
                reader.Dispose();
            }
        }

        SqliteLog.StoreClosed(_logger, _name, CommittedTransactions);
    }

    /// <summary>Closes the store synchronously; prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    Task<bool> IUserStore.TryCreateAsync(ChatUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        return WriteAsync(ctx => CreateUser(ctx, user), cancellationToken);
    }

    Task<ChatUser?> IUserStore.FindByIdAsync(Guid id, CancellationToken cancellationToken) =>
        ReadAsync(c => QuerySingle(c, $"SELECT {SqliteRows.UserColumns} FROM users WHERE id = $id;", SqliteRows.ReadUser, ("$id", SqliteRows.Id(id))), cancellationToken);

    Task<ChatUser?> IUserStore.FindByNameAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userName);
        var normalized = ChatUser.Normalize(userName);
        return ReadAsync(c => QuerySingle(c, $"SELECT {SqliteRows.UserColumns} FROM users WHERE normalized_user_name = $name;", SqliteRows.ReadUser, ("$name", normalized)), cancellationToken);
    }

    Task<bool> IRoomStore.TryCreateAsync(ChatRoom room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return WriteAsync(ctx => CreateRoom(ctx, room), cancellationToken);
    }

    Task<ChatRoom?> IRoomStore.FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(c => QuerySingle(c, $"SELECT {SqliteRows.RoomColumns} FROM rooms WHERE name = $name;", SqliteRows.ReadRoom, ("$name", name)), cancellationToken);
    }

    Task<IReadOnlyList<ChatRoom>> IRoomStore.ListAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ChatRoom>>(c => QueryList(c, $"SELECT {SqliteRows.RoomColumns} FROM rooms ORDER BY name;", SqliteRows.ReadRoom), cancellationToken);

    Task<AppendResult> IMessageStore.AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return WriteAsync(ctx => Append(ctx, message), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The append is queued to the single writer loop (a FIFO channel) before this returns, and the loop assigns
    /// sequence numbers in queue order: it is sequenced at once.</remarks>
    PendingAppend IMessageStore.BeginAppend(NewMessage message, CancellationToken cancellationToken)
    {
        var durable = ((IMessageStore)this).AppendAsync(message, cancellationToken);
        return new PendingAppend(Task.CompletedTask, durable);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        return ReadAsync<IReadOnlyList<ChatMessage>>(
            c =>
            {
                using var command = c.CreateCommand();
                command.Parameters.AddWithValue("$room", room);
                command.Parameters.AddWithValue("$limit", query.Limit);
                var before = string.Empty;
                if (query.BeforeSeq is { } b)
                {
                    before = " AND seq < $before";
                    command.Parameters.AddWithValue("$before", b);
                }

                if (query.AfterSeq is { } a)
                {
                    // The earliest page after 'after'.
                    command.Parameters.AddWithValue("$after", a);
                    command.CommandText = $"SELECT {SqliteRows.MessageColumns} FROM messages WHERE room = $room AND seq > $after{before} ORDER BY seq ASC LIMIT $limit;";
                    return Read(command, SqliteRows.ReadMessage);
                }

                // The latest page (before 'before'), returned ascending.
                command.CommandText = $"SELECT {SqliteRows.MessageColumns} FROM messages WHERE room = $room{before} ORDER BY seq DESC LIMIT $limit;";
                var page = Read(command, SqliteRows.ReadMessage);
                page.Reverse();
                return page;
            },
            cancellationToken);
    }

    Task<long> IMessageStore.GetLastSeqAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(c => Scalar(c, "SELECT last_seq FROM room_sequences WHERE room = $room;", ("$room", room)), cancellationToken);
    }

    Task<ChatMessage?> IMessageStore.FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(clientMessageId);
        return ReadAsync(
            c => QuerySingle(
                c,
                $"SELECT {SqliteRows.MessageColumns} FROM messages WHERE room = $room AND client_message_id = $key;",
                SqliteRows.ReadMessage,
                ("$room", room),
                ("$key", clientMessageId)),
            cancellationToken);
    }

    Task<ChangeBatch> IReplicationStore.ReadChangesAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        return ReadAsync(
            c =>
            {
                // One read transaction: a snapshot, so a change committed between the three queries cannot be skipped.
                // Positions are assigned under the write lock in commit order, so a snapshot never has a hole that fills later.
                using var transaction = c.BeginTransaction(deferred: true);
                var changes = new List<ChangeRecord>();
                changes.AddRange(ReadChangesOf(c, transaction, $"SELECT {SqliteRows.UserColumns} FROM users", SqliteRows.ReadUserChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, transaction, $"SELECT {SqliteRows.RoomColumns} FROM rooms", SqliteRows.ReadRoomChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, transaction, $"SELECT {SqliteRows.MessageColumns} FROM messages", SqliteRows.ReadMessageChange, afterPosition, maxCount));
                var head = Scalar(c, "SELECT position FROM change_position WHERE id = 1;", transaction);
                transaction.Commit();
                changes.Sort(static (x, y) => x.Position.CompareTo(y.Position));
                if (changes.Count > maxCount)
                {
                    changes.RemoveRange(maxCount, changes.Count - maxCount);
                }

                return new ChangeBatch(changes, head);
            },
            cancellationToken);
    }

    Task<long> IReplicationStore.GetHeadPositionAsync(CancellationToken cancellationToken) =>
        ReadAsync(static c => Scalar(c, "SELECT position FROM change_position WHERE id = 1;"), cancellationToken);

    Task<ReplicaCheckpoint?> IReplicationStore.GetCheckpointAsync(string sourceId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sourceId);
        return ReadAsync(c => ReadCheckpoint(c, null, sourceId), cancellationToken);
    }

    Task<int> IReplicationStore.ApplyAsync(ReplicationWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(write.Changes);
        ArgumentNullException.ThrowIfNull(write.SourceId);
        foreach (var change in write.Changes)
        {
            ArgumentNullException.ThrowIfNull(change);
            if ((change.Kind == DocumentKind.User && change.User is null)
                || (change.Kind == DocumentKind.Room && change.Room is null)
                || (change.Kind == DocumentKind.Message && change.Message is null)
                || change.Kind is not (DocumentKind.User or DocumentKind.Room or DocumentKind.Message))
            {
                throw new ArgumentException($"A change at position {change.Position} of kind {change.Kind} has no document.", nameof(write));
            }
        }

        return WriteAsync(ctx => Apply(ctx, write), cancellationToken, multiStatement: true);
    }

    async IAsyncEnumerable<ChangeRecord> IReplicationStore.ScanAsync(DocumentKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Keyset pages, so no read transaction stays open while the caller processes documents.
        string? lastKey = null;
        long lastSeq = 0;
        while (true)
        {
            var (afterKey, afterSeq) = (lastKey, lastSeq);
            var page = await ReadAsync(c => ScanPage(c, kind, afterKey, afterSeq), cancellationToken).ConfigureAwait(false);
            foreach (var record in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return record;
            }

            if (page.Count < ScanPageSize)
            {
                yield break;
            }

            var last = page[^1];
            (lastKey, lastSeq) = kind == DocumentKind.Message ? (last.Message!.Room, last.Message.Seq) : (SqliteRows.Id(last.DocumentId), 0L);
        }
    }

    private static List<ChangeRecord> ScanPage(SqliteConnection c, DocumentKind kind, string? afterKey, long afterSeq)
    {
        using var command = c.CreateCommand();
        command.Parameters.AddWithValue("$limit", ScanPageSize);
        var after = string.Empty;
        if (afterKey is not null)
        {
            command.Parameters.AddWithValue("$key", afterKey);
            command.Parameters.AddWithValue("$seq", afterSeq);
            after = kind == DocumentKind.Message ? " WHERE (room, seq) > ($key, $seq)" : " WHERE id > $key";
        }

        switch (kind)
        {
            case DocumentKind.User:
                command.CommandText = $"SELECT {SqliteRows.UserColumns} FROM users{after} ORDER BY id LIMIT $limit;";
                return Read(command, SqliteRows.ReadUserChange);
            case DocumentKind.Room:
                command.CommandText = $"SELECT {SqliteRows.RoomColumns} FROM rooms{after} ORDER BY id LIMIT $limit;";
                return Read(command, SqliteRows.ReadRoomChange);
            case DocumentKind.Message:
                command.CommandText = $"SELECT {SqliteRows.MessageColumns} FROM messages{after} ORDER BY room, seq LIMIT $limit;";
                return Read(command, SqliteRows.ReadMessageChange);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown document kind.");
        }
    }

    private static List<ChangeRecord> ReadChangesOf(SqliteConnection c, SqliteTransaction transaction, string select, Func<SqliteDataReader, ChangeRecord> map, long after, int max)
    {
        using var command = c.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = select + " WHERE position > $after ORDER BY position LIMIT $limit;";
        command.Parameters.AddWithValue("$after", after);
        command.Parameters.AddWithValue("$limit", max);
        return Read(command, map);
    }

    private static ReplicaCheckpoint? ReadCheckpoint(SqliteConnection c, SqliteTransaction? transaction, string sourceId)
    {
        using var command = c.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT source_id, position, fencing_token, updated_at FROM replica_checkpoints WHERE source_id = $source;";
        command.Parameters.AddWithValue("$source", sourceId);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new ReplicaCheckpoint(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero))
            : null;
    }

    private static long Scalar(SqliteConnection c, string sql, params (string Name, object Value)[] parameters) => Scalar(c, sql, null, parameters);

    private static long Scalar(SqliteConnection c, string sql, SqliteTransaction? transaction, params (string Name, object Value)[] parameters)
    {
        using var command = c.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command.ExecuteScalar() is long result ? result : 0L;
    }

    private static T? QuerySingle<T>(SqliteConnection c, string sql, Func<SqliteDataReader, T> map, params (string Name, object Value)[] parameters)
        where T : class
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    private static List<T> QueryList<T>(SqliteConnection c, string sql, Func<SqliteDataReader, T> map)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        return Read(command, map);
    }

    private static List<T> Read<T>(SqliteCommand command, Func<SqliteDataReader, T> map)
    {
        var list = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(map(reader));
        }

        return list;
    }

    private void EnsureInitialized()
    {
        if (_initialized)
        {
            return;
        }

        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_initialized)
            {
                return;
            }

            _connections.EnsureDirectory();
            using (var connection = _connections.Open())
            {
                var from = SqliteSchema.Migrate(connection);
                SqliteLog.StoreOpened(_logger, _name, _connections.DataSource, from, SqliteSchema.CurrentVersion, _options.MaxBatchSize);
            }

            _writerLoop = Task.Run(WriterLoopAsync);
            _initialized = true;
        }
    }

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        SqliteConnection? connection = null;
        var broken = false;
        try
        {
            EnsureInitialized();
            connection = RentReader();
            return Task.FromResult(read(connection));
        }
        catch (Exception ex)
        {
            broken = ex is SqliteException;
            return Task.FromException<T>(Fail(ex));
        }
        finally
        {
            if (connection is not null)
            {
                ReturnReader(connection, broken);
            }
        }
    }

    private SqliteConnection RentReader()
    {
        lock (_readersGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idleReaders.TryPop(out var idle))
            {
                return idle;
            }
        }

        return _connections.Open();
    }

    private void ReturnReader(SqliteConnection connection, bool broken)
    {
        lock (_readersGate)
        {
            if (!broken && !_disposed && _idleReaders.Count < _options.MaxIdleReadConnections)
            {
                _idleReaders.Push(connection);
                return;
            }
        }

        connection.Dispose();
    }

    private Exception Fail(Exception exception)
    {
        if (exception is SqliteException sqlite && SqliteErrors.IsUnavailable(sqlite))
        {
            SqliteLog.StoreUnavailable(_logger, _name, sqlite.SqliteErrorCode, sqlite);
        }

        return SqliteErrors.Translate(exception);
    }
}
