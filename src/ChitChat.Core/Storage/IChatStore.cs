namespace ChitChat.Storage;

/// <summary>
/// A ChitChat store: users, rooms and messages, plus the change feed and batch upsert that replication uses.
/// Every provider (in-memory, SQLite, MongoDB, the replication router) implements it and passes the shared conformance suite.
/// </summary>
public interface IChatStore
{
    /// <summary>Gets a short provider name for logs and health reports, e.g. <c>sqlite</c>.</summary>
    string ProviderName { get; }

    /// <summary>Gets the user store.</summary>
    IUserStore Users { get; }

    /// <summary>Gets the room store.</summary>
    IRoomStore Rooms { get; }

    /// <summary>Gets the message store.</summary>
    IMessageStore Messages { get; }

    /// <summary>Gets the change feed and replica sink of this store.</summary>
    IReplicationStore Replication { get; }

    /// <summary>Creates or migrates the schema (tables, indexes). Idempotent; called once at start-up.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the store is ready.</returns>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Checks that the store answers. Throws <see cref="ChatStoreUnavailableException"/> when it does not.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the store answered.</returns>
    Task PingAsync(CancellationToken cancellationToken = default);
}

/// <summary>Users, unique by case-insensitive user name.</summary>
public interface IUserStore
{
    /// <summary>Creates a user unless the (case-insensitive) user name is taken.</summary>
    /// <param name="user">The user with version 1.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when created; <see langword="false"/> when the name is taken (nothing changes).</returns>
    Task<bool> TryCreateAsync(ChatUser user, CancellationToken cancellationToken = default);

    /// <summary>Finds a user by id.</summary>
    /// <param name="id">The user id.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user, or <see langword="null"/>.</returns>
    Task<ChatUser?> FindByIdAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Finds a user by user name, ignoring case.</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user, or <see langword="null"/>.</returns>
    Task<ChatUser?> FindByNameAsync(string userName, CancellationToken cancellationToken = default);
}

/// <summary>Rooms, unique by name (a lower-case slug).</summary>
public interface IRoomStore
{
    /// <summary>Creates a room unless the name is taken.</summary>
    /// <param name="room">The room with version 1.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when created; <see langword="false"/> when the name is taken (nothing changes).</returns>
    Task<bool> TryCreateAsync(ChatRoom room, CancellationToken cancellationToken = default);

    /// <summary>Finds a room by name.</summary>
    /// <param name="name">The normalized (lower-case) room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room, or <see langword="null"/>.</returns>
    Task<ChatRoom?> FindByNameAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Lists all rooms ordered by name.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms.</returns>
    Task<IReadOnlyList<ChatRoom>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>Append-only messages with a gap-free per-room sequence.</summary>
public interface IMessageStore
{
    /// <summary>
    /// Appends a message, assigning the next sequence number of its room atomically (1, 2, 3, ... with no gap and no
    /// duplicate, also under concurrent writers in several processes). When the room already has a message with the same
    /// <see cref="NewMessage.ClientMessageId"/>, nothing is stored and the original is returned. The message is durable
    /// when the returned task completes.
    /// </summary>
    /// <param name="message">The message to append.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The stored message and whether it was created.</returns>
    Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts an append and reports its two steps separately: <see cref="PendingAppend.Sequenced"/> completes once the
    /// message's place in its room is fixed relative to every append started after it (a later append to the same room
    /// gets a higher sequence number), <see cref="PendingAppend.Durable"/> once it is stored, with the same result as
    /// <see cref="AppendAsync"/>. Callers that keep one sender's messages in order (ordered pipelining) start the next
    /// append after the previous one is sequenced instead of waiting until it is durable, so pipelined sends share the
    /// store's group commits.
    /// </summary>
    /// <remarks>
    /// The default implementation reports a message sequenced only when it is durable, which is always correct; a store
    /// that fixes positions earlier (a single writer queue, a lock) overrides it. A store that wraps another (a router)
    /// forwards it, so that pipelining keeps working through it.
    /// </remarks>
    /// <param name="message">The message to append.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The append in flight.</returns>
    PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default)
    {
        var durable = AppendAsync(message, cancellationToken);
        return new PendingAppend(durable, durable);
    }

    /// <summary>Reads a page of a room's messages, ascending by sequence number (see <see cref="MessageQuery"/>).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="query">The page.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages, ascending by sequence number.</returns>
    Task<IReadOnlyList<ChatMessage>> QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken = default);

    /// <summary>Gets the last sequence number of a room (0 when it has no message).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The last sequence number.</returns>
    Task<long> GetLastSeqAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>Finds a message by its idempotency key.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="clientMessageId">The client's idempotency key.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message, or <see langword="null"/>.</returns>
    Task<ChatMessage?> FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken = default);
}

/// <summary>An append in flight, in its two steps (see <see cref="IMessageStore.BeginAppend"/>).</summary>
/// <param name="Sequenced">Completes when the message's position is fixed relative to appends started later; faults or cancels
/// only when <paramref name="Durable"/> does.</param>
/// <param name="Durable">Completes with the stored message when it is durable.</param>
public readonly record struct PendingAppend(Task Sequenced, Task<AppendResult> Durable);
