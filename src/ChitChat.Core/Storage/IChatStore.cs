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

    /// <summary>Gets the membership store (memberships, roles, mutes, bans).</summary>
    IMembershipStore Memberships { get; }

    /// <summary>Gets the read-state store (per user and room read markers).</summary>
    IReadStateStore ReadState { get; }

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

    /// <summary>
    /// The user directory: users whose normalized name (<see cref="ChatUser.Normalize"/>) starts with the normalized
    /// <paramref name="prefix"/>, ordered by normalized name (ordinal), at most <paramref name="limit"/>. Served by the
    /// unique index on the normalized name (a range scan), never by scanning every user. An empty prefix lists the first users.
    /// </summary>
    /// <param name="prefix">The prefix, any case.</param>
    /// <param name="limit">The most users to return; at least 1.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is less than 1.</exception>
    Task<IReadOnlyList<ChatUser>> SearchByNamePrefixAsync(string prefix, int limit, CancellationToken cancellationToken = default);
}

/// <summary>Rooms, unique by name (a lower-case slug).</summary>
public interface IRoomStore
{
    /// <summary>Creates a room without members unless the name is taken (the same as
    /// <see cref="TryCreateWithMembersAsync"/> with no members).</summary>
    /// <param name="room">The room with version 1.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when created; <see langword="false"/> when the name is taken (nothing changes).</returns>
    Task<bool> TryCreateAsync(ChatRoom room, CancellationToken cancellationToken = default) =>
        TryCreateWithMembersAsync(room, [], cancellationToken);

    /// <summary>
    /// Creates a room and its initial memberships (the creator as owner; every member of a direct room) in one atomic step,
    /// unless the name (or the id) is taken. When two nodes create the same name at once, exactly one create succeeds and
    /// the other returns <see langword="false"/> having written nothing: the room then holds the winner's members only.
    /// </summary>
    /// <param name="room">The room with version 1.</param>
    /// <param name="members">The initial memberships: each of <paramref name="room"/>'s name, a distinct user, version at least 1.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when created; <see langword="false"/> when the name or id is taken (nothing changes).</returns>
    /// <exception cref="ArgumentException">A membership names another room, a user twice, or has a version below 1 (nothing is stored).</exception>
    Task<bool> TryCreateWithMembersAsync(ChatRoom room, IReadOnlyList<RoomMembership> members, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a room document (its topic) by compare-and-set on the version: succeeds only when the stored room with
    /// <paramref name="room"/>'s id has version <c>room.Version - 1</c> and the same name, kind and
    /// <see cref="ChatRoom.MembershipVersion"/>. The caller reads the room, changes it with <c>Version + 1</c>, and on
    /// <see langword="false"/> reads again and decides again.
    /// </summary>
    /// <param name="room">The new version of the room.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when replaced; <see langword="false"/> on a conflict or an unknown room (nothing changes).</returns>
    Task<bool> TryUpdateAsync(ChatRoom room, CancellationToken cancellationToken = default);

    /// <summary>
    /// The caller's room list: every public room, and the private and direct rooms where <paramref name="userId"/>'s
    /// membership has state <see cref="MembershipState.Member"/>; each with the user's membership (when a member), the
    /// room's last sequence number and member count. Ordered by room name. Computed from indexes (memberships by user and
    /// state, rooms by kind, members by room and state), not by reading every room's history.
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms visible to the user.</returns>
    Task<IReadOnlyList<RoomListEntry>> ListForUserAsync(Guid userId, CancellationToken cancellationToken = default);

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

/// <summary>
/// Memberships: one document per (room, user), never deleted (see <see cref="MembershipState"/>). Changes that must not
/// interleave (two owners demoting each other, the last owner leaving) go through <see cref="TryApplyAsync"/>, a
/// compare-and-set on the room's <see cref="ChatRoom.MembershipVersion"/> that covers all of the room's memberships.
/// </summary>
public interface IMembershipStore
{
    /// <summary>Finds the membership of a user in a room, in any state.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The membership, or <see langword="null"/> when the user never had one.</returns>
    Task<RoomMembership?> FindAsync(string room, Guid userId, CancellationToken cancellationToken = default);

    /// <summary>Lists a room's members (state <see cref="MembershipState.Member"/>), owners first, then moderators, then
    /// members, each group by user name (ordinal), then by user id.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The members (empty for an unknown room).</returns>
    Task<IReadOnlyList<RoomMembership>> ListMembersAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>Lists a room's bans in force at <paramref name="now"/> (state <see cref="MembershipState.Banned"/> and
    /// <see cref="RoomMembership.BannedUntil"/> <see langword="null"/> or later than <paramref name="now"/>), by user name (ordinal), then user id.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The bans.</returns>
    Task<IReadOnlyList<RoomMembership>> ListBansAsync(string room, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Counts a room's members (state <see cref="MembershipState.Member"/>); exact, also right after concurrent changes.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The number of members.</returns>
    Task<long> CountMembersAsync(string room, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies membership changes atomically, by compare-and-set on the room. The caller reads the room first (its
    /// <see cref="ChatRoom.MembershipVersion"/>), then the memberships it decides on, and passes that version: a change
    /// applied between the two reads makes the call fail rather than apply a decision made on older state. When the room's stored
    /// <see cref="ChatRoom.MembershipVersion"/> equals <paramref name="expectedMembershipVersion"/>, upserts every write and
    /// increments the room's <see cref="ChatRoom.MembershipVersion"/> and <see cref="ChatRoom.Version"/> by one, as one
    /// step; otherwise writes nothing. Of several concurrent calls with the same expected version at most one applies;
    /// the others get <see langword="false"/>, read again (room, then memberships) and decide again.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="expectedMembershipVersion">The <see cref="ChatRoom.MembershipVersion"/> of the room the decision was made on.</param>
    /// <param name="writes">The new versions of the memberships: each of <paramref name="room"/>, a distinct user, with a
    /// version greater than the stored one's (1 for a new membership; use <see cref="RoomMembership.Next"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when applied; <see langword="false"/> when the version did not match or the room does not exist (nothing changes).</returns>
    /// <exception cref="ArgumentException"><paramref name="writes"/> is empty, names another room or a user twice, or a write's
    /// version is not greater than the stored one's (nothing is stored).</exception>
    Task<bool> TryApplyAsync(string room, long expectedMembershipVersion, IReadOnlyList<RoomMembership> writes, CancellationToken cancellationToken = default);
}

/// <summary>Checks of the store contracts' arguments, shared by the providers so that every store refuses the same input.</summary>
public static class StoreArguments
{
    /// <summary>Checks the initial memberships of a room being created (see <see cref="IRoomStore.TryCreateWithMembersAsync"/>).</summary>
    /// <param name="room">The room.</param>
    /// <param name="members">The memberships.</param>
    /// <exception cref="ArgumentException">A membership names another room, a user twice, or has a version below 1.</exception>
    public static void CheckInitialMembers(ChatRoom room, IReadOnlyList<RoomMembership> members)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(members);
        CheckMemberships(room.Name, members, nameof(members));
    }

    /// <summary>Checks a batch of membership writes (see <see cref="IMembershipStore.TryApplyAsync"/>), without the stored versions.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="writes">The writes.</param>
    /// <exception cref="ArgumentException"><paramref name="writes"/> is empty, names another room or a user twice, or a version is below 1.</exception>
    public static void CheckMembershipWrites(string room, IReadOnlyList<RoomMembership> writes)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Count == 0)
        {
            throw new ArgumentException("At least one membership write is required.", nameof(writes));
        }

        CheckMemberships(room, writes, nameof(writes));
    }

    /// <summary>Checks that a write's version follows the stored one's.</summary>
    /// <param name="write">The write.</param>
    /// <param name="storedVersion">The stored version, or <see langword="null"/> for a new membership.</param>
    /// <exception cref="ArgumentException">The version is not greater than the stored one.</exception>
    public static void CheckNewerThanStored(RoomMembership write, long? storedVersion)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (storedVersion is { } stored && write.Version <= stored)
        {
            throw new ArgumentException(
                $"The membership of user {write.UserId} in room '{write.Room}' has version {write.Version}, not greater than the stored {stored}.", "writes");
        }
    }

    private static void CheckMemberships(string room, IReadOnlyList<RoomMembership> memberships, string parameter)
    {
        var users = new HashSet<Guid>();
        foreach (var m in memberships)
        {
            if (m is null)
            {
                throw new ArgumentException("A membership is null.", parameter);
            }

            if (!string.Equals(m.Room, room, StringComparison.Ordinal))
            {
                throw new ArgumentException($"A membership of room '{m.Room}' was given for room '{room}'.", parameter);
            }

            if (!users.Add(m.UserId))
            {
                throw new ArgumentException($"User {m.UserId} appears twice.", parameter);
            }

            if (m.Version < 1)
            {
                throw new ArgumentException($"The membership of user {m.UserId} has version {m.Version}; versions start at 1.", parameter);
            }

            ArgumentNullException.ThrowIfNull(m.UserName, parameter);
        }
    }
}

/// <summary>
/// Messages in their current state, and each room's event sequence: 1, 2, 3, ... with no gap, shared by new messages
/// (<see cref="AppendAsync"/>: the message's own <see cref="ChatMessage.Seq"/>) and updates (<see cref="UpdateAsync"/>:
/// a <see cref="MessageUpdate"/>). Every read returns messages in their current state; <see cref="ChatMessage.ReplyCount"/>
/// is filled in by every read.
/// </summary>
public interface IMessageStore
{
    /// <summary>
    /// Appends a message, assigning the next sequence number of its room's event sequence atomically (1, 2, 3, ... with no gap and no
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

    /// <summary>Gets the last sequence number of a room's event sequence, messages and updates alike (0 when it has none).</summary>
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

    /// <summary>Finds a message of a room by id, in its current state.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message, or <see langword="null"/> when the room has no message with that id.</returns>
    Task<ChatMessage?> FindAsync(string room, Guid id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes a message in one atomic step: reads its current state, calls <see cref="MessageMutation.Apply"/> on it, and
    /// when that returns <see cref="MutationStatus.Changed"/> stores the new version (text, tombstone, reactions, mentions,
    /// and the search index, all in the same step), and writes a <see cref="MessageUpdate"/> with the room's next sequence
    /// number. Concurrent updates of one message (on one node or several) are applied one after the other, each to the
    /// state the previous one left; no update is lost. The change is durable when the returned task completes.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <param name="mutation">The change.</param>
    /// <param name="at">The time of the change (for <see cref="MessageUpdate.At"/> and <see cref="ChatMessage.EditedAt"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The outcome; <see cref="MessageUpdateResult.NotFound"/> for an unknown id in that room.</returns>
    Task<MessageUpdateResult> UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a room's events with <c><paramref name="afterSeq"/> &lt; seq &lt;= <paramref name="upToSeq"/></c>, ascending, at
    /// most <paramref name="limit"/> (the earliest): each new message and each update, with the message in its current state.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last sequence number the reader has (0 for all).</param>
    /// <param name="upToSeq">The last sequence number to include (<see cref="long.MaxValue"/> for no bound).</param>
    /// <param name="limit">The most events (at least 1).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The events, ascending by sequence number, with no gap in the range they cover.</returns>
    Task<IReadOnlyList<MessageEvent>> ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>Reads a thread: the messages whose <see cref="ChatMessage.ThreadRoot"/> is <paramref name="rootId"/> (deleted
    /// ones as tombstones), ascending by sequence number, the earliest <paramref name="limit"/> with <c>seq &gt; afterSeq</c>.
    /// Served by an index of messages by thread root.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="rootId">The thread's root message.</param>
    /// <param name="afterSeq">When set, only replies with a higher sequence number.</param>
    /// <param name="limit">The most replies (at least 1).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The replies, ascending.</returns>
    Task<IReadOnlyList<ChatMessage>> QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Full-text search in the given rooms: messages that are not deleted and whose current text has every term of
    /// <paramref name="search"/> as a word (as cut by <see cref="SearchText.Words"/>; a store may also match prefixes), newest
    /// first (see <see cref="MessageSearchCursor"/>), at most <see cref="MessageSearch.Limit"/>. Served by a full-text index
    /// (SQLite FTS5, a MongoDB text index) kept in the same step as every append and update; the in-memory store scans.
    /// </summary>
    /// <param name="search">The terms, rooms, cursor and limit.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The matching messages in their current state.</returns>
    Task<IReadOnlyList<ChatMessage>> SearchAsync(MessageSearch search, CancellationToken cancellationToken = default);
}

/// <summary>Read markers: per user and room, the last <c>seq</c> read, moving forward only.</summary>
public interface IReadStateStore
{
    /// <summary>Moves a user's read marker in a room forward to <paramref name="seq"/>, atomically: a lower or equal
    /// <paramref name="seq"/> than the stored one changes nothing (concurrent calls end at the highest).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userId">The user.</param>
    /// <param name="seq">The sequence number read (the service clamps it to the room's last <c>seq</c>); at least 0.</param>
    /// <param name="at">The time, for <see cref="ReadMarker.UpdatedAt"/> when it moves.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The stored marker after the call and whether it moved.</returns>
    Task<(ReadMarker Marker, bool Moved)> MarkReadAsync(string room, Guid userId, long seq, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Finds a user's read marker in a room.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The marker, or <see langword="null"/> when the user never marked the room read.</returns>
    Task<ReadMarker?> FindAsync(string room, Guid userId, CancellationToken cancellationToken = default);
}

/// <summary>An append in flight, in its two steps (see <see cref="IMessageStore.BeginAppend"/>).</summary>
/// <param name="Sequenced">Completes when the message's position is fixed relative to appends started later; faults or cancels
/// only when <paramref name="Durable"/> does.</param>
/// <param name="Durable">Completes with the stored message when it is durable.</param>
public readonly record struct PendingAppend(Task Sequenced, Task<AppendResult> Durable);
