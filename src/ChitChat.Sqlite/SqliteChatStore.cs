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
/// write the same file. Reads run on a few dedicated reader threads (<see cref="SqliteStoreOptions.ReaderThreads"/>), each with
/// its own read-only connection, and see committed data only: a read never blocks the caller's thread (see <see cref="SqliteReaderPool"/>).
/// </summary>
public sealed partial class SqliteChatStore : IChatStore, IUserStore, IRoomStore, IMessageStore, IMembershipStore, IReadStateStore, IReplicationStore, IAsyncDisposable, IDisposable
{
    private const int ScanPageSize = 500;
    private const string SelectHead = "SELECT position FROM change_position WHERE id = 1;";
    private static readonly string SelectUserById = $"{SqliteRows.Users.Select} WHERE id = $id;";
    private static readonly string SelectUserByName = $"{SqliteRows.Users.Select} WHERE normalized_user_name = $name;";
    private static readonly string SelectRoomByName = $"{SqliteRows.Rooms.Select} WHERE name = $name;";
    private static readonly string SelectRooms = $"{SqliteRows.Rooms.Select} ORDER BY name;";
    private static readonly string SelectMessageByKey = $"{SqliteRows.Messages.Select} WHERE room = $room AND client_message_id = $key;";

    /// <summary>The four history queries: without 'after' the latest page (read descending, returned ascending), with it
    /// the earliest page after it; each with or without 'before' (parameters a statement does not use are ignored). Indexed by (after set ? 2 : 0) + (before set ? 1 : 0).</summary>
    private static readonly string ChangesOfUsers = $"{SqliteRows.Users.Select} WHERE position > $after ORDER BY position LIMIT $limit;";
    private static readonly string ChangesOfRooms = $"{SqliteRows.Rooms.Select} WHERE position > $after ORDER BY position LIMIT $limit;";
    private static readonly string ChangesOfMessages = $"{SqliteRows.Messages.Select} WHERE position > $after ORDER BY position LIMIT $limit;";
    private static readonly string ScanUsersFirst = $"{SqliteRows.Users.Select} ORDER BY id LIMIT $limit;";
    private static readonly string ScanUsersAfter = $"{SqliteRows.Users.Select} WHERE id > $key ORDER BY id LIMIT $limit;";
    private static readonly string ScanRoomsFirst = $"{SqliteRows.Rooms.Select} ORDER BY id LIMIT $limit;";
    private static readonly string ScanRoomsAfter = $"{SqliteRows.Rooms.Select} WHERE id > $key ORDER BY id LIMIT $limit;";
    private static readonly string ScanMessagesFirst = $"{SqliteRows.Messages.Select} ORDER BY room, seq LIMIT $limit;";
    private static readonly string ScanMessagesAfter = $"{SqliteRows.Messages.Select} WHERE (room, seq) > ($key, $seq) ORDER BY room, seq LIMIT $limit;";
    private static readonly string ChangesOfMemberships = $"{SqliteRows.Memberships.Select} WHERE position > $after ORDER BY position LIMIT $limit;";
    private static readonly string ScanMembershipsFirst = $"{SqliteRows.Memberships.Select} ORDER BY room, user_id LIMIT $limit;";
    private static readonly string ScanMembershipsAfter = $"{SqliteRows.Memberships.Select} WHERE (room, user_id) > ($key, $user) ORDER BY room, user_id LIMIT $limit;";
    internal static readonly string SelectMembership = $"{SqliteRows.Memberships.Select} WHERE room = $room AND user_id = $user;";

    // Owners first (role 2), then moderators, then members; index ix_memberships_room_state (room, state, role, user_name).
    internal static readonly string SelectMembers = $"{SqliteRows.Memberships.Select} WHERE room = $room AND state = 0 ORDER BY role DESC, user_name, user_id;";
    internal static readonly string SelectBans = $"{SqliteRows.Memberships.Select} WHERE room = $room AND state = 3 AND (banned_until IS NULL OR banned_until > $now) ORDER BY user_name, user_id;";
    internal const string CountMembers = "SELECT COUNT(*) FROM memberships WHERE room = $room AND state = 0;";

    // Directory: a range of the unique index on normalized_user_name.
    internal static readonly string SearchUsers = $"{SqliteRows.Users.Select} WHERE normalized_user_name >= $low AND normalized_user_name < $high ORDER BY normalized_user_name LIMIT $limit;";

    /// <summary>The room list of a user: the public rooms (index ix_rooms_kind_name) and the rooms of the user's memberships
    /// in state member (index ix_memberships_user_state), each with its last seq (room_sequences) and member count (a count
    /// on ix_memberships_room_state); the user's memberships are read by the second statement in the same snapshot.</summary>
    /// <remarks>For the rooms the user is a member of, the read marker (read_markers' key), the unread count (a range of
    /// ux_messages_room_seq after the marker) and the mention count (a range of message_mentions' key (user, room, seq)).</remarks>
    internal static readonly string SelectRoomList =
        "WITH visible(name) AS (SELECT name FROM rooms WHERE kind = 0 UNION SELECT room FROM memberships WHERE user_id = $user AND state = 0) " +
        $"SELECT {SqliteRows.Rooms.SelectListOf("r")}, COALESCE(s.last_seq, 0), " +
        "(SELECT COUNT(*) FROM memberships c WHERE c.room = r.name AND c.state = 0), " +
        "CASE WHEN me.room IS NULL THEN 0 ELSE COALESCE(rm.seq, 0) END, " +
        "CASE WHEN me.room IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM messages x WHERE x.room = r.name AND x.seq > COALESCE(rm.seq, 0) AND x.deleted = 0 AND x.author_id <> $user) END, " +
        "CASE WHEN me.room IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM message_mentions mm WHERE mm.user_id = $user AND mm.room = r.name AND mm.seq > COALESCE(rm.seq, 0) AND mm.author_id <> $user) END " +
        "FROM visible v JOIN rooms r ON r.name = v.name LEFT JOIN room_sequences s ON s.room = r.name " +
        "LEFT JOIN memberships me ON me.room = r.name AND me.user_id = $user AND me.state = 0 " +
        "LEFT JOIN read_markers rm ON rm.room = r.name AND rm.user_id = $user ORDER BY r.name;";

    /// <summary>A root's replies that are not deleted (index ix_messages_room_thread_root_seq).</summary>
    internal const string CountReplies = "SELECT COUNT(*) FROM messages WHERE room = $room AND thread_root = $root AND deleted = 0;";

    private static readonly string SelectMessageByIdInRoom = $"{SqliteRows.Messages.Select} WHERE id = $id AND room = $room;";
    private static readonly string SelectThread = $"{SqliteRows.Messages.Select} WHERE room = $room AND thread_root = $root AND seq > $after ORDER BY seq LIMIT $limit;";
    private static readonly string ChangesOfUpdates = $"SELECT {SqliteRows.UpdateColumns} FROM message_updates WHERE position > $after ORDER BY position LIMIT $limit;";
    private static readonly string ChangesOfMarkers = $"SELECT {SqliteRows.MarkerColumns} FROM read_markers WHERE position > $after ORDER BY position LIMIT $limit;";
    private static readonly string ScanUpdatesFirst = $"SELECT {SqliteRows.UpdateColumns} FROM message_updates ORDER BY room, seq LIMIT $limit;";
    private static readonly string ScanUpdatesAfter = $"SELECT {SqliteRows.UpdateColumns} FROM message_updates WHERE (room, seq) > ($key, $seq) ORDER BY room, seq LIMIT $limit;";
    private static readonly string ScanMarkersFirst = $"SELECT {SqliteRows.MarkerColumns} FROM read_markers ORDER BY room, user_id LIMIT $limit;";
    private static readonly string ScanMarkersAfter = $"SELECT {SqliteRows.MarkerColumns} FROM read_markers WHERE (room, user_id) > ($key, $user) ORDER BY room, user_id LIMIT $limit;";
    private const string SelectMarkerForRead = $"SELECT {SqliteRows.MarkerColumns} FROM read_markers WHERE room = $room AND user_id = $user;";

    /// <summary>A room's events in a range: the earliest messages and the earliest updates (each a range of its table's
    /// (room, seq) key, at most $limit), merged by seq, each with its message's current state.</summary>
    private static readonly string SelectEvents =
        $"SELECT {SqliteRows.Messages.SelectListOf("m")}, e.seq, e.kind, e.change FROM (" +
        "SELECT * FROM (SELECT seq, 0 AS kind, NULL AS change, id AS mid FROM messages WHERE room = $room AND seq > $after AND seq <= $upto ORDER BY seq LIMIT $limit) " +
        "UNION ALL " +
        "SELECT * FROM (SELECT seq, 1 AS kind, change, message_id AS mid FROM message_updates WHERE room = $room AND seq > $after AND seq <= $upto ORDER BY seq LIMIT $limit)" +
        ") e JOIN messages m ON m.id = e.mid ORDER BY e.seq LIMIT $limit;";

    /// <summary>Full-text search: the FTS5 index finds the rows, the messages table filters rooms, tombstones and the cursor;
    /// newest first by (sent_at, seq, room).</summary>
    private static readonly string[] SearchMessages =
    [
        $"SELECT {SqliteRows.Messages.SelectListOf("m")} FROM messages_fts f JOIN messages m ON m.rowid = f.rowid " +
        "WHERE messages_fts MATCH $match AND m.room IN (SELECT value FROM json_each($rooms)) AND m.deleted = 0 " +
        "ORDER BY m.sent_at DESC, m.seq DESC, m.room DESC LIMIT $limit;",
        $"SELECT {SqliteRows.Messages.SelectListOf("m")} FROM messages_fts f JOIN messages m ON m.rowid = f.rowid " +
        "WHERE messages_fts MATCH $match AND m.room IN (SELECT value FROM json_each($rooms)) AND m.deleted = 0 " +
        "AND (m.sent_at < $sent OR (m.sent_at = $sent AND (m.seq < $seq OR (m.seq = $seq AND m.room < $cursorRoom)))) " +
        "ORDER BY m.sent_at DESC, m.seq DESC, m.room DESC LIMIT $limit;",
    ];

    internal static readonly string SelectMembershipsOfUser = $"{SqliteRows.Memberships.Select} WHERE user_id = $user AND state = 0;";
    private const string SelectCheckpoint = "SELECT source_id, position, fencing_token, updated_at FROM replica_checkpoints WHERE source_id = $source;";

    private static readonly string[] MessagePages =
    [
        $"{SqliteRows.Messages.Select} WHERE room = $room ORDER BY seq DESC LIMIT $limit;",
        $"{SqliteRows.Messages.Select} WHERE room = $room AND seq < $before ORDER BY seq DESC LIMIT $limit;",
        $"{SqliteRows.Messages.Select} WHERE room = $room AND seq > $after ORDER BY seq ASC LIMIT $limit;",
        $"{SqliteRows.Messages.Select} WHERE room = $room AND seq > $after AND seq < $before ORDER BY seq ASC LIMIT $limit;",
    ];

    private readonly SqliteStoreOptions _options;
    private readonly SqliteConnectionFactory _connections;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Channel<WriteOperation> _queue;
    private readonly Lock _lifecycle = new();
    private SqliteReaderPool? _readers;
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
            ReaderThreads = options.ReaderThreads,
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
    public IMembershipStore Memberships => this;

    /// <inheritdoc />
    public IReplicationStore Replication => this;

    /// <inheritdoc />
    IReadStateStore IChatStore.ReadState => this;

    /// <summary>Gets the number of write transactions committed by this instance (for tests of group commit).</summary>
    internal long CommittedTransactions => Interlocked.Read(ref _committedTransactions);

    /// <summary>Gets the number of writes acknowledged by this instance.</summary>
    internal long CommittedWrites => Interlocked.Read(ref _committedWrites);

    /// <summary>Gets the schema version this build creates.</summary>
    internal static int SchemaVersion => SqliteSchema.CurrentVersion;

    /// <summary>Gets the number of reader threads (after initialization).</summary>
    internal int ReaderThreads => _readers?.Threads ?? 0;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        if (_initialized)
        {
            return Task.CompletedTask;
        }

        // Opening the file and migrating is blocking I/O: on a thread of its own, not the caller's (the first operation
        // of a store nobody initialized does it inline, once).
        return Task.Factory.StartNew(
            () =>
            {
                try
                {
                    EnsureInitialized();
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning | TaskCreationOptions.RunContinuationsAsynchronously,
            TaskScheduler.Default);
    }

    /// <inheritdoc />
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(static c => Scalar(c.Command(SelectHead)), cancellationToken);

    /// <summary>Stops accepting writes and reads, commits the queued writes, fails the queued reads with
    /// <see cref="ObjectDisposedException"/>, lets the running reads finish, and closes every connection.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        SqliteReaderPool? readers;
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _writerLoop;
            readers = _readers;
        }

        var readersStopped = readers?.StopAsync() ?? Task.CompletedTask;
        _queue.Writer.TryComplete();
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        CloseWriter();
        await readersStopped.ConfigureAwait(false);

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
        ReadAsync(c => QuerySingle(c.Command(SelectUserById, ("$id", SqliteRows.Id(id))), SqliteRows.Users.Read), cancellationToken);

    Task<ChatUser?> IUserStore.FindByNameAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userName);
        var normalized = ChatUser.Normalize(userName);
        return ReadAsync(c => QuerySingle(c.Command(SelectUserByName, ("$name", normalized)), SqliteRows.Users.Read), cancellationToken);
    }

    Task<IReadOnlyList<ChatUser>> IUserStore.SearchByNamePrefixAsync(string prefix, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var low = ChatUser.Normalize(prefix);

        // Text compares as UTF-8 bytes: every name that starts with 'low' sorts below 'low' followed by U+10FFFF, the
        // highest code point (a name continuing with U+10FFFF itself is the one the bound leaves out).
        var high = low + char.ConvertFromUtf32(0x10FFFF);
        return ReadAsync<IReadOnlyList<ChatUser>>(
            c => Read(c.Command(SearchUsers, ("$low", low), ("$high", high), ("$limit", limit)), SqliteRows.Users.Read),
            cancellationToken);
    }

    Task<bool> IRoomStore.TryCreateWithMembersAsync(ChatRoom room, IReadOnlyList<RoomMembership> members, CancellationToken cancellationToken)
    {
        StoreArguments.CheckInitialMembers(room, members);
        var copy = members.ToArray();
        return WriteAsync(ctx => CreateRoom(ctx, room, copy), cancellationToken, multiStatement: copy.Length > 0);
    }

    Task<bool> IRoomStore.TryUpdateAsync(ChatRoom room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return WriteAsync(ctx => UpdateRoom(ctx, room), cancellationToken);
    }

    Task<IReadOnlyList<RoomListEntry>> IRoomStore.ListForUserAsync(Guid userId, CancellationToken cancellationToken)
    {
        var user = SqliteRows.Id(userId);
        return ReadAsync<IReadOnlyList<RoomListEntry>>(
            c => c.InSnapshot(() =>
            {
                var mine = Read(c.Command(SelectMembershipsOfUser, ("$user", user)), SqliteRows.Memberships.Read).ToDictionary(m => m.Room, StringComparer.Ordinal);
                var at = SqliteRows.Rooms.SelectedCount;
                return Read(
                    c.Command(SelectRoomList, ("$user", user)),
                    r =>
                    {
                        var room = SqliteRows.Rooms.Read(r);
                        return new RoomListEntry(room, mine.GetValueOrDefault(room.Name), r.GetInt64(at), r.GetInt64(at + 1))
                        {
                            ReadSeq = r.GetInt64(at + 2),
                            Unread = r.GetInt64(at + 3),
                            Mentions = r.GetInt64(at + 4),
                        };
                    });
            }),
            cancellationToken);
    }

    Task<RoomMembership?> IMembershipStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(
            c => QuerySingle(c.Command(SelectMembership, ("$room", room), ("$user", SqliteRows.Id(userId))), SqliteRows.Memberships.Read),
            cancellationToken);
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync<IReadOnlyList<RoomMembership>>(c => Read(c.Command(SelectMembers, ("$room", room)), SqliteRows.Memberships.Read), cancellationToken);
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListBansAsync(string room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync<IReadOnlyList<RoomMembership>>(
            c => Read(c.Command(SelectBans, ("$room", room), ("$now", SqliteRows.Ticks(now))), SqliteRows.Memberships.Read),
            cancellationToken);
    }

    Task<long> IMembershipStore.CountMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(c => Scalar(c.Command(CountMembers, ("$room", room))), cancellationToken);
    }

    Task<bool> IMembershipStore.TryApplyAsync(string room, long expectedMembershipVersion, IReadOnlyList<RoomMembership> writes, CancellationToken cancellationToken)
    {
        StoreArguments.CheckMembershipWrites(room, writes);
        var copy = writes.ToArray();
        return WriteAsync(ctx => ApplyMemberships(ctx, room, expectedMembershipVersion, copy), cancellationToken, multiStatement: true);
    }

    Task<ChatRoom?> IRoomStore.FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(c => QuerySingle(c.Command(SelectRoomByName, ("$name", name)), SqliteRows.Rooms.Read), cancellationToken);
    }

    Task<IReadOnlyList<ChatRoom>> IRoomStore.ListAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ChatRoom>>(static c => Read(c.Command(SelectRooms), SqliteRows.Rooms.Read), cancellationToken);

    Task<AppendResult> IMessageStore.AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return WriteAsync(ctx => Append(ctx, message), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The single writer loop takes writes from one FIFO channel and assigns sequence numbers in the order it takes them,
    /// so an append is sequenced once it is in the channel. When the channel has room (the normal case) the append is
    /// written to it before this method returns, and <see cref="PendingAppend.Sequenced"/> is already complete. When the
    /// channel is full (<see cref="SqliteStoreOptions.WriteQueueCapacity"/> writes waiting: back-pressure), the append waits
    /// for room and <see cref="PendingAppend.Sequenced"/> completes only once it is in the channel: an append started after
    /// that is queued behind it. Reporting it sequenced earlier would rest on the order in which the channel admits blocked
    /// writers, which it does not promise. A cancelled or failed enqueue cancels or fails both tasks.
    /// </remarks>
    PendingAppend IMessageStore.BeginAppend(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (queued, durable) = Enqueue(ctx => Append(ctx, message), cancellationToken, multiStatement: false);
        return new PendingAppend(queued, durable);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        return ReadAsync<IReadOnlyList<ChatMessage>>(
            c => c.InSnapshot(() =>
            {
                var (after, before) = (query.AfterSeq, query.BeforeSeq);
                var command = c.Command(
                    MessagePages[(after is null ? 0 : 2) + (before is null ? 0 : 1)],
                    ("$room", room),
                    ("$limit", query.Limit),
                    ("$after", after ?? 0L),
                    ("$before", before ?? 0L));
                var page = Read(command, SqliteRows.Messages.Read);
                if (after is null)
                {
                    page.Reverse(); // the latest page was read descending
                }

                return WithReplies(c, page);
            }),
            cancellationToken);
    }

    Task<long> IMessageStore.GetLastSeqAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(c => Scalar(c.Command("SELECT last_seq FROM room_sequences WHERE room = $room;", ("$room", room))), cancellationToken);
    }

    Task<ChatMessage?> IMessageStore.FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(clientMessageId);
        return ReadAsync(
            c => c.InSnapshot(() => WithReplies(c, QuerySingle(c.Command(SelectMessageByKey, ("$room", room), ("$key", clientMessageId)), SqliteRows.Messages.Read))),
            cancellationToken);
    }

    Task<ChatMessage?> IMessageStore.FindAsync(string room, Guid id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var key = SqliteRows.Id(id);
        return ReadAsync(
            c => c.InSnapshot(() => WithReplies(c, QuerySingle(c.Command(SelectMessageByIdInRoom, ("$id", key), ("$room", room)), SqliteRows.Messages.Read))),
            cancellationToken);
    }

    Task<MessageUpdateResult> IMessageStore.UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(mutation);
        return WriteAsync(ctx => UpdateMessage(ctx, room, id, mutation, at), cancellationToken, multiStatement: true);
    }

    Task<IReadOnlyList<MessageEvent>> IMessageStore.ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ReadAsync<IReadOnlyList<MessageEvent>>(
            c => c.InSnapshot(() =>
            {
                var at = SqliteRows.Messages.SelectedCount;
                var rows = Read(
                    c.Command(SelectEvents, ("$room", room), ("$after", afterSeq), ("$upto", upToSeq), ("$limit", limit)),
                    r => (Message: SqliteRows.Messages.Read(r), Seq: r.GetInt64(at), Kind: r.GetInt64(at + 1), Change: r.IsDBNull(at + 2) ? 0L : r.GetInt64(at + 2)));
                var counts = new Dictionary<Guid, ChatMessage>();
                var events = new List<MessageEvent>(rows.Count);
                foreach (var row in rows)
                {
                    if (!counts.TryGetValue(row.Message.Id, out var message))
                    {
                        counts[row.Message.Id] = message = WithReplies(c, row.Message)!;
                    }

                    events.Add(row.Kind == 0 ? MessageEvent.Posted(message) : MessageEvent.Updated(row.Seq, (MessageChange)row.Change, message));
                }

                return events;
            }),
            cancellationToken);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var root = SqliteRows.Id(rootId);
        return ReadAsync<IReadOnlyList<ChatMessage>>(
            c => Read(c.Command(SelectThread, ("$room", room), ("$root", root), ("$after", afterSeq ?? 0L), ("$limit", limit)), SqliteRows.Messages.Read),
            cancellationToken);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.SearchAsync(MessageSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentNullException.ThrowIfNull(search.Terms);
        ArgumentNullException.ThrowIfNull(search.Rooms);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Limit, 1);
        var match = SqliteSearch.MatchExpression(search.Terms);
        if (match is null || search.Rooms.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ChatMessage>>([]);
        }

        var rooms = SqliteSearch.JsonArray(search.Rooms);
        var cursor = search.Before;
        return ReadAsync<IReadOnlyList<ChatMessage>>(
            c => c.InSnapshot(() => WithReplies(c, Read(
                c.Command(
                    SearchMessages[cursor is null ? 0 : 1],
                    ("$match", match),
                    ("$rooms", rooms),
                    ("$limit", search.Limit),
                    ("$sent", cursor is { } b ? SqliteRows.Ticks(b.SentAt) : 0L),
                    ("$seq", cursor?.Seq ?? 0L),
                    ("$cursorRoom", cursor?.Room ?? string.Empty)),
                SqliteRows.Messages.Read))),
            cancellationToken);
    }

    Task<(ReadMarker Marker, bool Moved)> IReadStateStore.MarkReadAsync(string room, Guid userId, long seq, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        return WriteAsync(ctx => MarkRead(ctx, room, userId, seq, at), cancellationToken);
    }

    Task<ReadMarker?> IReadStateStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var user = SqliteRows.Id(userId);
        return ReadAsync(c => QuerySingle(c.Command(SelectMarkerForRead, ("$room", room), ("$user", user)), SqliteRows.ReadMarker), cancellationToken);
    }

    private static ChatMessage? WithReplies(SqliteReadConnection c, ChatMessage? message)
    {
        if (message is null || message.ThreadRoot is not null)
        {
            return message;
        }

        var count = (int)Scalar(c.Command(CountReplies, ("$room", message.Room), ("$root", SqliteRows.Id(message.Id))));
        return count == message.ReplyCount ? message : message with { ReplyCount = count };
    }

    private static List<ChatMessage> WithReplies(SqliteReadConnection c, List<ChatMessage> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            messages[i] = WithReplies(c, messages[i])!;
        }

        return messages;
    }

    Task<ChangeBatch> IReplicationStore.ReadChangesAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        return ReadAsync(
            c => c.InSnapshot(() =>
            {
                // One read transaction: a snapshot, so a change committed between the three queries cannot be skipped.
                // Positions are assigned under the write lock in commit order, so a snapshot never has a hole that fills later.
                var changes = new List<ChangeRecord>();
                changes.AddRange(ReadChangesOf(c, ChangesOfUsers, SqliteRows.Users.ReadChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, ChangesOfRooms, SqliteRows.Rooms.ReadChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, ChangesOfMessages, SqliteRows.Messages.ReadChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, ChangesOfMemberships, SqliteRows.Memberships.ReadChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, ChangesOfUpdates, SqliteRows.ReadUpdateChange, afterPosition, maxCount));
                changes.AddRange(ReadChangesOf(c, ChangesOfMarkers, SqliteRows.ReadMarkerChange, afterPosition, maxCount));
                var head = Scalar(c.Command(SelectHead));
                changes.Sort(static (x, y) => x.Position.CompareTo(y.Position));
                if (changes.Count > maxCount)
                {
                    changes.RemoveRange(maxCount, changes.Count - maxCount);
                }

                return new ChangeBatch(changes, head);
            }),
            cancellationToken);
    }

    Task<long> IReplicationStore.GetHeadPositionAsync(CancellationToken cancellationToken) =>
        ReadAsync(static c => Scalar(c.Command(SelectHead)), cancellationToken);

    Task<ReplicaCheckpoint?> IReplicationStore.GetCheckpointAsync(string sourceId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sourceId);
        return ReadAsync(c => ReadCheckpoint(c.Command(SelectCheckpoint, ("$source", sourceId))), cancellationToken);
    }

    Task<int> IReplicationStore.ApplyAsync(ReplicationWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(write.Changes);
        ArgumentNullException.ThrowIfNull(write.SourceId);
        foreach (var change in write.Changes)
        {
            ArgumentNullException.ThrowIfNull(change);
            if (!change.HasDocument)
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
        var lastUser = string.Empty;
        while (true)
        {
            var (afterKey, afterSeq, afterUser) = (lastKey, lastSeq, lastUser);
            var page = await ReadAsync(c => ScanPage(c, kind, afterKey, afterSeq, afterUser), cancellationToken).ConfigureAwait(false);
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
            (lastKey, lastSeq, lastUser) = kind switch
            {
                DocumentKind.Message => (last.Message!.Room, last.Message.Seq, string.Empty),
                DocumentKind.Membership => (last.Membership!.Room, 0L, SqliteRows.Id(last.Membership.UserId)),
                DocumentKind.MessageUpdate => (last.Update!.Room, last.Update.Seq, string.Empty),
                DocumentKind.ReadMarker => (last.ReadMarker!.Room, 0L, SqliteRows.Id(last.ReadMarker.UserId)),
                _ => (SqliteRows.Id(last.DocumentId), 0L, string.Empty),
            };
        }
    }

    private static List<ChangeRecord> ScanPage(SqliteReadConnection c, DocumentKind kind, string? afterKey, long afterSeq, string afterUser)
    {
        var first = afterKey is null;
        var (sql, read) = kind switch
        {
            DocumentKind.User => (first ? ScanUsersFirst : ScanUsersAfter, SqliteRows.Users.ReadChange),
            DocumentKind.Room => (first ? ScanRoomsFirst : ScanRoomsAfter, SqliteRows.Rooms.ReadChange),
            DocumentKind.Message => (first ? ScanMessagesFirst : ScanMessagesAfter, (Func<SqliteDataReader, ChangeRecord>)SqliteRows.Messages.ReadChange),
            DocumentKind.Membership => (first ? ScanMembershipsFirst : ScanMembershipsAfter, SqliteRows.Memberships.ReadChange),
            DocumentKind.MessageUpdate => (first ? ScanUpdatesFirst : ScanUpdatesAfter, SqliteRows.ReadUpdateChange),
            DocumentKind.ReadMarker => (first ? ScanMarkersFirst : ScanMarkersAfter, SqliteRows.ReadMarkerChange),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown document kind."),
        };
        return Read(c.Command(sql, ("$limit", ScanPageSize), ("$key", afterKey ?? string.Empty), ("$seq", afterSeq), ("$user", afterUser)), read);
    }

    private static List<ChangeRecord> ReadChangesOf(SqliteReadConnection c, string sql, Func<SqliteDataReader, ChangeRecord> map, long after, int max) =>
        Read(c.Command(sql, ("$after", after), ("$limit", max)), map);

    private static ReplicaCheckpoint? ReadCheckpoint(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new ReplicaCheckpoint(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero))
            : null;
    }

    private static long Scalar(SqliteCommand command) => command.ExecuteScalar() is long result ? result : 0L;

    private static T? QuerySingle<T>(SqliteCommand command, Func<SqliteDataReader, T> map)
        where T : class
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : null;
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

            _readers = new SqliteReaderPool(_options.ReaderThreads, _name, _connections.Open, Fail);
            _writerLoop = Task.Run(WriterLoopAsync);
            _initialized = true;
        }
    }

    /// <summary>Runs a read on a reader thread (never on the caller's); see <see cref="SqliteReaderPool"/>.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="read">The read, given the reader thread's connection.</param>
    /// <param name="cancellationToken">Cancels the read until a reader thread starts it.</param>
    /// <returns>The result, with SQLite availability errors translated.</returns>
    internal Task<T> ReadAsync<T>(Func<SqliteReadConnection, T> read, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        try
        {
            EnsureInitialized();
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(Fail(ex));
        }

        return _readers!.ReadAsync(read, cancellationToken);
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
