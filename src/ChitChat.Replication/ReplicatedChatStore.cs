using ChitChat.Storage;

namespace ChitChat.Replication;

/// <summary>
/// The replication router: an <see cref="IChatStore"/> that sends writes to the primary and reads by
/// <see cref="ReplicationOptions.ReadPreference"/>, skipping replicas that are unreachable, staler than
/// <see cref="ReplicationOptions.MaxStaleness"/> or that have not yet applied this router's last write to what is read
/// (read-your-writes). Writes fail fast with <see cref="ChatStoreUnavailableException"/> while the primary is down.
/// </summary>
internal sealed class ReplicatedChatStore : IChatStore, IUserStore, IRoomStore, IMessageStore, IMembershipStore, IReadStateStore
{
    private const string RoomsKey = "rooms";
    private const string UsersKey = "users";
    private readonly ReplicaSet _set;

    public ReplicatedChatStore(ReplicaSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        _set = set;
    }

    public string ProviderName => $"replicated-{_set.Primary.Store.ProviderName}";

    public IUserStore Users => this;

    public IRoomStore Rooms => this;

    public IMessageStore Messages => this;

    public IMembershipStore Memberships => this;

    public IReadStateStore ReadState => this;

    /// <summary>Gets the primary's change feed (read directly: the sync service applies its own timeouts).</summary>
    public IReplicationStore Replication => _set.Primary.Store.Replication;

    internal ReplicaSet ReplicaSet => _set;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _set.Primary.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        foreach (var replica in _set.Replicas)
        {
            try
            {
                await replica.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChatStoreUnavailableException)
            {
                // A replica that cannot start yet is retried by the probes; the primary serves meanwhile.
            }
        }
    }

    public Task PingAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(ct => _set.Primary.Store.PingAsync(ct), cancellationToken);

    // ---- writes: primary only, then record the primary position for read-your-writes ----

    async Task<bool> IUserStore.TryCreateAsync(ChatUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var created = await WriteAsync(ct => _set.Primary.Store.Users.TryCreateAsync(user, ct), cancellationToken).ConfigureAwait(false);
        if (created)
        {
            await RecordWriteAsync(cancellationToken, UserIdKey(user.Id), UserNameKey(user.UserName), UsersKey).ConfigureAwait(false);
        }

        return created;
    }

    async Task<bool> IRoomStore.TryCreateWithMembersAsync(ChatRoom room, IReadOnlyList<RoomMembership> members, CancellationToken cancellationToken)
    {
        StoreArguments.CheckInitialMembers(room, members);
        var created = await WriteAsync(ct => _set.Primary.Store.Rooms.TryCreateWithMembersAsync(room, members, ct), cancellationToken).ConfigureAwait(false);
        if (created)
        {
            await RecordWriteAsync(cancellationToken, [RoomKey(room.Name), RoomsKey, MembersKey(room.Name), .. members.Select(m => RoomsOfUserKey(m.UserId))]).ConfigureAwait(false);
        }

        return created;
    }

    async Task<bool> IRoomStore.TryUpdateAsync(ChatRoom room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var updated = await WriteAsync(ct => _set.Primary.Store.Rooms.TryUpdateAsync(room, ct), cancellationToken).ConfigureAwait(false);
        if (updated)
        {
            await RecordWriteAsync(cancellationToken, RoomKey(room.Name), RoomsKey).ConfigureAwait(false);
        }

        return updated;
    }

    /// <remarks>Records the room, its members and every written user's room list for read-your-writes: a member just added
    /// reads their membership, the members and their room list at once through this router.</remarks>
    async Task<bool> IMembershipStore.TryApplyAsync(string room, long expectedMembershipVersion, IReadOnlyList<RoomMembership> writes, CancellationToken cancellationToken)
    {
        StoreArguments.CheckMembershipWrites(room, writes);
        var applied = await WriteAsync(ct => _set.Primary.Store.Memberships.TryApplyAsync(room, expectedMembershipVersion, writes, ct), cancellationToken).ConfigureAwait(false);
        if (applied)
        {
            await RecordWriteAsync(cancellationToken, [RoomKey(room), RoomsKey, MembersKey(room), .. writes.Select(m => RoomsOfUserKey(m.UserId))]).ConfigureAwait(false);
        }

        return applied;
    }

    async Task<AppendResult> IMessageStore.AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var result = await WriteAsync(ct => _set.Primary.Store.Messages.AppendAsync(message, ct), cancellationToken).ConfigureAwait(false);
        await RecordWriteAsync(cancellationToken, MessagesKey(message.Room), AnyMessagesKey).ConfigureAwait(false);
        return result;
    }

    /// <remarks>
    /// Forwards to the primary's <see cref="IMessageStore.BeginAppend"/> on the caller's thread, so the router reports a
    /// message sequenced when the primary does (for SQLite: as soon as it is queued) and ordered pipelining keeps sharing
    /// the primary's group commits. Durability goes through the primary's circuit breaker and timeout and fails with
    /// <see cref="ChatStoreUnavailableException"/> exactly like <see cref="IMessageStore.AppendAsync"/>; once durable, the
    /// write is recorded for read-your-writes. <see cref="PendingAppend.Sequenced"/> faults only when the durable step does.
    /// </remarks>
    PendingAppend IMessageStore.BeginAppend(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var started = _set.Primary.BeginAppend(message, cancellationToken);
        var durable = CompleteAppendAsync(started.Durable, message.Room, cancellationToken);
        var sequenced = started.Sequenced.IsCompletedSuccessfully ? started.Sequenced : SequencedAsync(started.Sequenced, durable);
        return new PendingAppend(sequenced, durable);

        static async Task SequencedAsync(Task primarySequenced, Task routerDurable)
        {
            // Completes when the primary's step does; if that never comes (timeout) or fails, with the router's durable outcome.
            var first = await Task.WhenAny(primarySequenced, routerDurable).ConfigureAwait(false);
            if (first != primarySequenced || !primarySequenced.IsCompletedSuccessfully)
            {
                await routerDurable.ConfigureAwait(false);
            }
        }
    }

    private async Task<AppendResult> CompleteAppendAsync(Task<AppendResult> durable, string room, CancellationToken cancellationToken)
    {
        AppendResult result;
        try
        {
            result = await durable.ConfigureAwait(false);
            _set.ReportPrimary(true);
        }
        catch (ChatStoreUnavailableException)
        {
            _set.ReportPrimary(false);
            throw;
        }

        await RecordWriteAsync(cancellationToken, MessagesKey(room), AnyMessagesKey).ConfigureAwait(false);
        return result;
    }

    /// <remarks>A change takes the room's next seq like an append, so it is recorded under the same keys: the caller's reads
    /// of the room's messages, events, threads, searches and room lists go to the primary until a replica has applied it.</remarks>
    async Task<MessageUpdateResult> IMessageStore.UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(mutation);
        var result = await WriteAsync(ct => _set.Primary.Store.Messages.UpdateAsync(room, id, mutation, at, ct), cancellationToken).ConfigureAwait(false);
        if (result.Status == MessageUpdateStatus.Updated)
        {
            await RecordWriteAsync(cancellationToken, MessagesKey(room), AnyMessagesKey).ConfigureAwait(false);
        }

        return result;
    }

    /// <remarks>Records the marker and the user's room list (its read seq and unread counts) for read-your-writes.</remarks>
    async Task<(ReadMarker Marker, bool Moved)> IReadStateStore.MarkReadAsync(string room, Guid userId, long seq, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        var result = await WriteAsync(ct => _set.Primary.Store.ReadState.MarkReadAsync(room, userId, seq, at, ct), cancellationToken).ConfigureAwait(false);
        if (result.Moved)
        {
            await RecordWriteAsync(cancellationToken, ReadMarkerKey(room, userId), RoomsOfUserKey(userId)).ConfigureAwait(false);
        }

        return result;
    }

    // ---- reads: by read preference ----

    Task<ChatMessage?> IMessageStore.FindAsync(string room, Guid id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(MessagesKey(room), (s, ct) => s.Messages.FindAsync(room, id, ct), cancellationToken);
    }

    Task<IReadOnlyList<MessageEvent>> IMessageStore.ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ReadAsync(MessagesKey(room), (s, ct) => s.Messages.ReadEventsAsync(room, afterSeq, upToSeq, limit, ct), cancellationToken);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ReadAsync(MessagesKey(room), (s, ct) => s.Messages.QueryThreadAsync(room, rootId, afterSeq, limit, ct), cancellationToken);
    }

    /// <remarks>Served by a replica only when it holds this router's latest write to every searched room.</remarks>
    Task<IReadOnlyList<ChatMessage>> IMessageStore.SearchAsync(MessageSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentNullException.ThrowIfNull(search.Rooms);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Limit, 1);
        return ReadAsync([.. search.Rooms.Select(MessagesKey)], (s, ct) => s.Messages.SearchAsync(search, ct), cancellationToken);
    }

    Task<ReadMarker?> IReadStateStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(ReadMarkerKey(room, userId), (s, ct) => s.ReadState.FindAsync(room, userId, ct), cancellationToken);
    }

    Task<ChatUser?> IUserStore.FindByIdAsync(Guid id, CancellationToken cancellationToken) =>
        ReadAsync(UserIdKey(id), (s, ct) => s.Users.FindByIdAsync(id, ct), cancellationToken);

    Task<ChatUser?> IUserStore.FindByNameAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userName);
        return ReadAsync(UserNameKey(userName), (s, ct) => s.Users.FindByNameAsync(userName, ct), cancellationToken);
    }

    Task<IReadOnlyList<ChatUser>> IUserStore.SearchByNamePrefixAsync(string prefix, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ReadAsync([UsersKey], (s, ct) => s.Users.SearchByNamePrefixAsync(prefix, limit, ct), cancellationToken);
    }

    /// <remarks>Served by a replica only when it holds this router's latest write of every room (new public rooms), of the
    /// user's memberships, and of the messages this router appended (the entries' last seqs).</remarks>
    Task<IReadOnlyList<RoomListEntry>> IRoomStore.ListForUserAsync(Guid userId, CancellationToken cancellationToken) =>
        ReadAsync([RoomsKey, RoomsOfUserKey(userId), AnyMessagesKey], (s, ct) => s.Rooms.ListForUserAsync(userId, ct), cancellationToken);

    Task<RoomMembership?> IMembershipStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(MembersKey(room), (s, ct) => s.Memberships.FindAsync(room, userId, ct), cancellationToken);
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(MembersKey(room), (s, ct) => s.Memberships.ListMembersAsync(room, ct), cancellationToken);
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListBansAsync(string room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(MembersKey(room), (s, ct) => s.Memberships.ListBansAsync(room, now, ct), cancellationToken);
    }

    Task<long> IMembershipStore.CountMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(MembersKey(room), (s, ct) => s.Memberships.CountMembersAsync(room, ct), cancellationToken);
    }

    Task<ChatRoom?> IRoomStore.FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(RoomKey(name), (s, ct) => s.Rooms.FindByNameAsync(name, ct), cancellationToken);
    }

    Task<IReadOnlyList<ChatRoom>> IRoomStore.ListAsync(CancellationToken cancellationToken) =>
        ReadAsync(RoomsKey, (s, ct) => s.Rooms.ListAsync(ct), cancellationToken);

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        return ReadAsync(MessagesKey(room), (s, ct) => s.Messages.QueryAsync(room, query, ct), cancellationToken);
    }

    Task<long> IMessageStore.GetLastSeqAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ReadAsync(MessagesKey(room), (s, ct) => s.Messages.GetLastSeqAsync(room, ct), cancellationToken);
    }

    Task<ChatMessage?> IMessageStore.FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(clientMessageId);
        return ReadAsync(MessagesKey(room), (s, ct) => s.Messages.FindByClientMessageIdAsync(room, clientMessageId, ct), cancellationToken);
    }

    /// <summary>Gets the stores a read of <paramref name="key"/> may go to, best first (exposed for tests and diagnostics).</summary>
    internal IReadOnlyList<ReplicationNode> SelectReadTargets(string key) => SelectReadTargets([key]);

    /// <summary>Gets the stores a read that depends on every one of <paramref name="keys"/> may go to, best first.</summary>
    internal IReadOnlyList<ReplicationNode> SelectReadTargets(string[] keys)
    {
        var eligible = _set.Replicas.Where(r => keys.All(key => _set.IsEligible(r, key))).OrderBy(r => double.IsNaN(r.LatencyMs) ? double.MaxValue : r.LatencyMs).ToList();
        var primary = _set.Primary;
        var primaryUp = _set.PrimaryReachable;
        switch (_set.Options.ReadPreference)
        {
            case ReadPreference.Primary:
                return [primary];
            case ReadPreference.PrimaryPreferred:
                return primaryUp ? [primary, .. eligible] : [.. eligible, primary];
            case ReadPreference.Replica:
                return eligible;
            case ReadPreference.ReplicaPreferred:
                return [.. eligible, primary];
            default:
                var all = new List<ReplicationNode>(eligible);
                if (primaryUp)
                {
                    all.Add(primary);
                }

                all.Sort((a, b) => Latency(a).CompareTo(Latency(b)));
                if (!primaryUp)
                {
                    all.Add(primary);
                }

                return all;
        }

        static double Latency(ReplicationNode n) => double.IsNaN(n.LatencyMs) ? double.MaxValue : n.LatencyMs;
    }

    internal static string UserIdKey(Guid id) => $"u:{id:N}";

    internal static string UserNameKey(string userName) => $"un:{ChatUser.Normalize(userName)}";

    internal static string RoomKey(string name) => $"r:{name}";

    internal static string MessagesKey(string room) => $"m:{room}";

    /// <summary>The key of a room's memberships (members, bans, counts).</summary>
    internal static string MembersKey(string room) => $"ms:{room}";

    /// <summary>The key of a user's memberships across rooms (their room list).</summary>
    internal static string RoomsOfUserKey(Guid userId) => $"mu:{userId:N}";

    /// <summary>The key of a user's read marker in a room.</summary>
    internal static string ReadMarkerKey(string room, Guid userId) => $"rm:{room}:{userId:N}";

    /// <summary>The key every append also records: reads that show the last seq of many rooms (room lists).</summary>
    internal const string AnyMessagesKey = "m:*";

    private async Task<T> WriteAsync<T>(Func<CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        try
        {
            var result = await _set.Primary.ExecuteAsync(write, null, cancellationToken).ConfigureAwait(false);
            _set.ReportPrimary(true);
            return result;
        }
        catch (ChatStoreUnavailableException)
        {
            _set.ReportPrimary(false);
            throw;
        }
    }

    private Task WriteAsync(Func<CancellationToken, Task> write, CancellationToken cancellationToken) =>
        WriteAsync(async ct => { await write(ct).ConfigureAwait(false); return true; }, cancellationToken);

    private async Task RecordWriteAsync(CancellationToken cancellationToken, params string[] keys)
    {
        long position;
        try
        {
            position = await _set.Primary.ExecuteAsync(ct => _set.Primary.Store.Replication.GetHeadPositionAsync(ct), null, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatStoreUnavailableException)
        {
            // The write is durable but its position is unknown: no replica may serve these keys until the window passes.
            position = long.MaxValue;
        }

        _set.RecordWrite(position, keys);
    }

    private Task<T> ReadAsync<T>(string key, Func<IChatStore, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        ReadAsync([key], read, cancellationToken);

    private async Task<T> ReadAsync<T>(string[] keys, Func<IChatStore, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        var targets = SelectReadTargets(keys);
        ChatStoreUnavailableException? last = null;
        foreach (var node in targets)
        {
            try
            {
                var result = await node.ExecuteAsync(ct => read(node.Store, ct), null, cancellationToken).ConfigureAwait(false);
                if (node.IsPrimary)
                {
                    _set.ReportPrimary(true);
                }

                return result;
            }
            catch (ChatStoreUnavailableException ex)
            {
                last = ex;
                if (node.IsPrimary)
                {
                    _set.ReportPrimary(false);
                }
                else
                {
                    node.Update(s => s with { Reachable = false });
                }
            }
        }

        throw new ChatStoreUnavailableException(
            targets.Count == 0
                ? $"No store can serve this read: read preference {_set.Options.ReadPreference} and no replica is reachable, within {_set.Options.MaxStaleness} of the primary and holding this node's latest write."
                : "No store can serve this read: every candidate store failed.",
            last?.RetryAfter ?? _set.Options.BreakDuration,
            last);
    }
}
