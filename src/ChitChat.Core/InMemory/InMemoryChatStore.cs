using System.Runtime.CompilerServices;
using ChitChat.Storage;

namespace ChitChat.InMemory;

/// <summary>A complete store in process memory: for tests, demos and as the reference implementation of the contracts. Nothing survives a restart.</summary>
public sealed class InMemoryChatStore : IChatStore, IUserStore, IRoomStore, IMessageStore, IMembershipStore, IReadStateStore, IReplicationStore
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<Guid, (ChatUser User, long Position)> _users = [];
    private readonly Dictionary<string, Guid> _userNames = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, (ChatRoom Room, long Position)> _rooms = [];
    private readonly Dictionary<string, Guid> _roomNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ChatMessage>> _messages = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, long> _messagePositions = [];
    private readonly Dictionary<(string Room, string Key), ChatMessage> _idempotency = [];
    private readonly SortedDictionary<long, ChangeRecord> _changes = [];
    private readonly Dictionary<string, ReplicaCheckpoint> _checkpoints = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _sortedUserNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<Guid, (RoomMembership Membership, long Position)>> _memberships = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, HashSet<string>> _roomsOfUser = [];
    private readonly Dictionary<Guid, ChatMessage> _byId = [];
    private readonly Dictionary<string, List<(MessageUpdate Update, long Position)>> _updates = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Room, Guid Root), SortedDictionary<long, Guid>> _threads = [];
    private readonly Dictionary<(string Room, Guid Root), int> _replyCounts = [];
    private readonly Dictionary<(string Room, Guid User), (ReadMarker Marker, long Position)> _readMarkers = [];
    private long _position;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="timeProvider">The clock for change timestamps.</param>
    public InMemoryChatStore(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string ProviderName => "inmemory";

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

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public Task PingAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    Task<bool> IUserStore.TryCreateAsync(ChatUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (_gate)
        {
            if (_userNames.ContainsKey(user.NormalizedUserName) || _users.ContainsKey(user.Id))
            {
                return Task.FromResult(false);
            }

            PutUser(user);
            return Task.FromResult(true);
        }
    }

    Task<ChatUser?> IUserStore.FindByIdAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_users.TryGetValue(id, out var u) ? u.User : null);
        }
    }

    Task<ChatUser?> IUserStore.FindByNameAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userName);
        lock (_gate)
        {
            return Task.FromResult(_userNames.TryGetValue(ChatUser.Normalize(userName), out var id) ? _users[id].User : null);
        }
    }

    Task<IReadOnlyList<ChatUser>> IUserStore.SearchByNamePrefixAsync(string prefix, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var normalized = ChatUser.Normalize(prefix);
        lock (_gate)
        {
            // A sorted index: the matches are one contiguous range starting at the prefix.
            IEnumerable<string> range = _sortedUserNames.Max is { } max && string.CompareOrdinal(max, normalized) >= 0
                ? _sortedUserNames.GetViewBetween(normalized, max)
                : [];
            var found = range
                .TakeWhile(name => name.StartsWith(normalized, StringComparison.Ordinal))
                .Take(limit)
                .Select(name => _users[_userNames[name]].User)
                .ToArray();
            return Task.FromResult<IReadOnlyList<ChatUser>>(found);
        }
    }

    Task<bool> IRoomStore.TryCreateWithMembersAsync(ChatRoom room, IReadOnlyList<RoomMembership> members, CancellationToken cancellationToken)
    {
        StoreArguments.CheckInitialMembers(room, members);
        lock (_gate)
        {
            if (_roomNames.ContainsKey(room.Name) || _rooms.ContainsKey(room.Id))
            {
                return Task.FromResult(false);
            }

            PutRoom(room);
            foreach (var member in members)
            {
                PutMembership(member);
            }

            return Task.FromResult(true);
        }
    }

    Task<bool> IRoomStore.TryUpdateAsync(ChatRoom room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room.Id, out var current)
                || current.Room.Version != room.Version - 1
                || current.Room.Name != room.Name
                || current.Room.Kind != room.Kind
                || current.Room.MembershipVersion != room.MembershipVersion)
            {
                return Task.FromResult(false);
            }

            PutRoom(room);
            return Task.FromResult(true);
        }
    }

    Task<IReadOnlyList<RoomListEntry>> IRoomStore.ListForUserAsync(Guid userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var entries = new List<RoomListEntry>();
            var mine = _roomsOfUser.GetValueOrDefault(userId);
            foreach (var (room, _) in _rooms.Values)
            {
                var membership = mine is not null && mine.Contains(room.Name) ? _memberships[room.Name][userId].Membership : null;
                var isMember = membership is { IsMember: true };
                if (room.Kind != RoomKind.Public && !isMember)
                {
                    continue;
                }

                var entry = new RoomListEntry(room, isMember ? membership : null, LastSeq(room.Name), CountMembers(room.Name));
                if (isMember)
                {
                    var readSeq = _readMarkers.TryGetValue((room.Name, userId), out var marker) ? marker.Marker.Seq : 0L;
                    var (unread, mentions) = CountUnread(room.Name, userId, readSeq);
                    entry = entry with { ReadSeq = readSeq, Unread = unread, Mentions = mentions };
                }

                entries.Add(entry);
            }

            entries.Sort(static (a, b) => string.CompareOrdinal(a.Room.Name, b.Room.Name));
            return Task.FromResult<IReadOnlyList<RoomListEntry>>(entries);
        }
    }

    Task<RoomMembership?> IMembershipStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            return Task.FromResult(_memberships.TryGetValue(room, out var members) && members.TryGetValue(userId, out var m) ? m.Membership : null);
        }
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            IReadOnlyList<RoomMembership> members = _memberships.TryGetValue(room, out var all)
                ? all.Values.Select(m => m.Membership).Where(m => m.IsMember)
                    .OrderByDescending(m => m.Role).ThenBy(m => m.UserName, StringComparer.Ordinal).ThenBy(m => m.UserId).ToArray()
                : [];
            return Task.FromResult(members);
        }
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListBansAsync(string room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            IReadOnlyList<RoomMembership> bans = _memberships.TryGetValue(room, out var all)
                ? all.Values.Select(m => m.Membership).Where(m => m.IsBannedAt(now))
                    .OrderBy(m => m.UserName, StringComparer.Ordinal).ThenBy(m => m.UserId).ToArray()
                : [];
            return Task.FromResult(bans);
        }
    }

    Task<long> IMembershipStore.CountMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            return Task.FromResult(CountMembers(room));
        }
    }

    Task<bool> IMembershipStore.TryApplyAsync(string room, long expectedMembershipVersion, IReadOnlyList<RoomMembership> writes, CancellationToken cancellationToken)
    {
        StoreArguments.CheckMembershipWrites(room, writes);
        lock (_gate)
        {
            if (!_roomNames.TryGetValue(room, out var id))
            {
                return Task.FromResult(false);
            }

            var current = _rooms[id].Room;
            if (current.MembershipVersion != expectedMembershipVersion)
            {
                return Task.FromResult(false);
            }

            var stored = _memberships.GetValueOrDefault(room);
            foreach (var write in writes)
            {
                StoreArguments.CheckNewerThanStored(write, stored is not null && stored.TryGetValue(write.UserId, out var old) ? old.Membership.Version : null);
            }

            foreach (var write in writes)
            {
                PutMembership(write);
            }

            PutRoom(current with { MembershipVersion = current.MembershipVersion + 1, Version = current.Version + 1 });
            return Task.FromResult(true);
        }
    }

    Task<ChatRoom?> IRoomStore.FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            return Task.FromResult(_roomNames.TryGetValue(name, out var id) ? _rooms[id].Room : null);
        }
    }

    Task<IReadOnlyList<ChatRoom>> IRoomStore.ListAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ChatRoom>>(_rooms.Values.Select(r => r.Room).OrderBy(r => r.Name, StringComparer.Ordinal).ToArray());
        }
    }

    Task<AppendResult> IMessageStore.AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            if (message.ClientMessageId is { } key && _idempotency.TryGetValue((message.Room, key), out var original))
            {
                return Task.FromResult(new AppendResult(Fill(original), false));
            }

            var stored = message.ToMessage(LastSeq(message.Room) + 1);
            PutMessage(stored);
            return Task.FromResult(new AppendResult(Fill(stored), true));
        }
    }

    /// <inheritdoc />
    PendingAppend IMessageStore.BeginAppend(NewMessage message, CancellationToken cancellationToken)
    {
        // Sequenced under the lock before it returns.
        var durable = ((IMessageStore)this).AppendAsync(message, cancellationToken);
        return new PendingAppend(durable, durable);
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        lock (_gate)
        {
            if (!_messages.TryGetValue(room, out var list))
            {
                return Task.FromResult<IReadOnlyList<ChatMessage>>([]);
            }

            // The list is ordered by seq: the range (after, before) is found by binary search, not by a scan.
            var start = query.AfterSeq is { } after ? FirstAtOrAfter(list, after == long.MaxValue ? after : after + 1) : 0;
            var end = query.BeforeSeq is { } before ? FirstAtOrAfter(list, before) : list.Count;
            if (end <= start)
            {
                return Task.FromResult<IReadOnlyList<ChatMessage>>([]);
            }

            var count = Math.Min(query.Limit, end - start);
            var first = query.AfterSeq is not null ? start : end - count; // the earliest page after 'after', else the latest
            return Task.FromResult<IReadOnlyList<ChatMessage>>(list.GetRange(first, count).Select(Fill).ToArray());
        }
    }

    Task<long> IMessageStore.GetLastSeqAsync(string room, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(LastSeq(room));
        }
    }

    Task<ChatMessage?> IMessageStore.FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_idempotency.TryGetValue((room, clientMessageId), out var m) ? Fill(m) : null);
        }
    }

    Task<ChatMessage?> IMessageStore.FindAsync(string room, Guid id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            return Task.FromResult(_byId.TryGetValue(id, out var m) && m.Room == room ? Fill(m) : null);
        }
    }

    Task<MessageUpdateResult> IMessageStore.UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(mutation);
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var current) || current.Room != room)
            {
                return Task.FromResult(MessageUpdateResult.NotFound);
            }

            var outcome = mutation.Apply(current, at);
            if (outcome.Status != MutationStatus.Changed)
            {
                return Task.FromResult(MessageUpdateResult.From(outcome with { Message = Fill(outcome.Message) }, null));
            }

            var update = new MessageUpdate(room, LastSeq(room) + 1, id, mutation.Change, outcome.Message.Version, at);
            PutMessage(outcome.Message);
            PutUpdate(update);
            return Task.FromResult(MessageUpdateResult.From(outcome with { Message = Fill(outcome.Message) }, update));
        }
    }

    Task<IReadOnlyList<MessageEvent>> IMessageStore.ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_gate)
        {
            var events = new List<MessageEvent>();
            var messages = _messages.GetValueOrDefault(room) ?? [];
            var updates = _updates.GetValueOrDefault(room) ?? [];
            var from = afterSeq == long.MaxValue ? afterSeq : afterSeq + 1;
            var m = FirstAtOrAfter(messages, from);
            var u = FirstUpdateAtOrAfter(updates, from);
            while (events.Count < limit)
            {
                var nextMessage = m < messages.Count && messages[m].Seq <= upToSeq ? messages[m] : null;
                var nextUpdate = u < updates.Count && updates[u].Update.Seq <= upToSeq ? updates[u].Update : null;
                if (nextMessage is null && nextUpdate is null)
                {
                    break;
                }

                if (nextUpdate is null || (nextMessage is not null && nextMessage.Seq <= nextUpdate.Seq))
                {
                    events.Add(MessageEvent.Posted(Fill(nextMessage!)));
                    m++;
                    if (nextUpdate is not null && nextUpdate.Seq == nextMessage!.Seq)
                    {
                        u++; // a drifted replica holding both at one seq: the message wins
                    }
                }
                else
                {
                    u++;
                    if (_byId.TryGetValue(nextUpdate.MessageId, out var changed))
                    {
                        events.Add(MessageEvent.Updated(nextUpdate.Seq, nextUpdate.Change, Fill(changed)));
                    }
                }
            }

            return Task.FromResult<IReadOnlyList<MessageEvent>>(events);
        }
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_gate)
        {
            if (!_threads.TryGetValue((room, rootId), out var replies))
            {
                return Task.FromResult<IReadOnlyList<ChatMessage>>([]);
            }

            var after = afterSeq ?? 0;
            IReadOnlyList<ChatMessage> page = replies.Where(kv => kv.Key > after).Take(limit).Select(kv => Fill(_byId[kv.Value])).ToArray();
            return Task.FromResult(page);
        }
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.SearchAsync(MessageSearch search, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfLessThan(search.Limit, 1);

        // The terms go through the same folding as the text, so a term given unfolded (or with operator characters) still matches alike.
        var terms = search.Terms.SelectMany(SearchText.Words).Distinct(StringComparer.Ordinal).ToArray();
        if (terms.Length == 0 || search.Rooms.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ChatMessage>>([]);
        }

        lock (_gate)
        {
            IReadOnlyList<ChatMessage> found = search.Rooms.Distinct(StringComparer.Ordinal)
                .SelectMany(room => _messages.GetValueOrDefault(room) ?? [])
                .Where(m => !m.Deleted && (search.Before is not { } before || before.IsBefore(m)))
                .Where(m =>
                {
                    var words = SearchText.Words(m.Text);
                    return terms.All(t => words.Contains(t, StringComparer.Ordinal));
                })
                .OrderByDescending(m => m.SentAt).ThenByDescending(m => m.Seq).ThenByDescending(m => m.Room, StringComparer.Ordinal)
                .Take(search.Limit)
                .Select(Fill)
                .ToArray();
            return Task.FromResult(found);
        }
    }

    Task<(ReadMarker Marker, bool Moved)> IReadStateStore.MarkReadAsync(string room, Guid userId, long seq, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        lock (_gate)
        {
            if (_readMarkers.TryGetValue((room, userId), out var current) && current.Marker.Seq >= seq)
            {
                return Task.FromResult((current.Marker, false));
            }

            if (current.Marker is null && seq == 0)
            {
                return Task.FromResult((new ReadMarker(room, userId, 0, at), false));
            }

            var marker = new ReadMarker(room, userId, seq, at);
            PutReadMarker(marker);
            return Task.FromResult((marker, true));
        }
    }

    Task<ReadMarker?> IReadStateStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            return Task.FromResult(_readMarkers.TryGetValue((room, userId), out var m) ? m.Marker : null);
        }
    }

    Task<ChangeBatch> IReplicationStore.ReadChangesAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_gate)
        {
            var changes = _changes.Where(kv => kv.Key > afterPosition).Take(maxCount).Select(kv => kv.Value).ToArray();
            return Task.FromResult(new ChangeBatch(changes, _position));
        }
    }

    Task<long> IReplicationStore.GetHeadPositionAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_position);
        }
    }

    Task<ReplicaCheckpoint?> IReplicationStore.GetCheckpointAsync(string sourceId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_checkpoints.TryGetValue(sourceId, out var c) ? c : null);
        }
    }

    Task<int> IReplicationStore.ApplyAsync(ReplicationWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        lock (_gate)
        {
            var existing = _checkpoints.GetValueOrDefault(write.SourceId);
            if (existing is not null && existing.FencingToken > write.FencingToken)
            {
                throw new FencingTokenRejectedException(write.SourceId, write.FencingToken, existing.FencingToken);
            }

            var applied = 0;
            foreach (var change in write.Changes)
            {
                applied += change.Kind switch
                {
                    DocumentKind.User => UpsertUser(change.User!),
                    DocumentKind.Room => UpsertRoom(change.Room!),
                    DocumentKind.Membership => UpsertMembership(change.Membership!),
                    DocumentKind.MessageUpdate => UpsertUpdate(change.Update!),
                    DocumentKind.ReadMarker => UpsertReadMarker(change.ReadMarker!),
                    _ => UpsertMessage(change.Message!),
                };
            }

            _checkpoints[write.SourceId] = new ReplicaCheckpoint(
                write.SourceId,
                write.Checkpoint ?? existing?.Position ?? 0,
                Math.Max(write.FencingToken, existing?.FencingToken ?? 0),
                _time.GetUtcNow());
            return Task.FromResult(applied);
        }
    }

    async IAsyncEnumerable<ChangeRecord> IReplicationStore.ScanAsync(DocumentKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ChangeRecord[] snapshot;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            snapshot = kind switch
            {
                DocumentKind.User => _users.Values.OrderBy(u => u.User.Id).Select(u => ChangeRecord.ForUser(u.Position, now, u.User)).ToArray(),
                DocumentKind.Room => _rooms.Values.OrderBy(r => r.Room.Id).Select(r => ChangeRecord.ForRoom(r.Position, now, r.Room)).ToArray(),
                DocumentKind.Membership => _memberships.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .SelectMany(kv => kv.Value.Values.OrderBy(m => m.Membership.UserId))
                    .Select(m => ChangeRecord.ForMembership(m.Position, now, m.Membership))
                    .ToArray(),
                DocumentKind.MessageUpdate => _updates.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .SelectMany(kv => kv.Value)
                    .Select(u => ChangeRecord.ForUpdate(u.Position, now, u.Update))
                    .ToArray(),
                DocumentKind.ReadMarker => _readMarkers.Values.OrderBy(m => m.Marker.Room, StringComparer.Ordinal).ThenBy(m => m.Marker.UserId)
                    .Select(m => ChangeRecord.ForReadMarker(m.Position, now, m.Marker))
                    .ToArray(),
                _ => _messages.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .SelectMany(kv => kv.Value)
                    .Select(m => ChangeRecord.ForMessage(_messagePositions[m.Id], now, m))
                    .ToArray(),
            };
        }

        foreach (var record in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private List<ChatMessage> RoomList(string room)
    {
        if (!_messages.TryGetValue(room, out var list))
        {
            _messages[room] = list = [];
        }

        return list;
    }

    private long NextPosition() => ++_position;

    private long LastSeq(string room) => Math.Max(
        _messages.TryGetValue(room, out var list) && list.Count > 0 ? list[^1].Seq : 0L,
        _updates.TryGetValue(room, out var updates) && updates.Count > 0 ? updates[^1].Update.Seq : 0L);

    /// <summary>The message with <see cref="ChatMessage.ReplyCount"/> derived from the index of replies by root.</summary>
    private ChatMessage Fill(ChatMessage message)
    {
        var count = _replyCounts.GetValueOrDefault((message.Room, message.Id));
        return message.ReplyCount == count ? message : message with { ReplyCount = count };
    }

    /// <summary>Messages by others after <paramref name="readSeq"/> that are not deleted, and those of them mentioning the user.</summary>
    private (long Unread, long Mentions) CountUnread(string room, Guid userId, long readSeq)
    {
        if (!_messages.TryGetValue(room, out var list))
        {
            return (0, 0);
        }

        long unread = 0, mentions = 0;
        for (var i = FirstAtOrAfter(list, readSeq == long.MaxValue ? readSeq : readSeq + 1); i < list.Count; i++)
        {
            var m = list[i];
            if (m.Deleted || m.AuthorId == userId)
            {
                continue;
            }

            unread++;
            if (m.Mentions.Contains(userId))
            {
                mentions++;
            }
        }

        return (unread, mentions);
    }

    private static int FirstUpdateAtOrAfter(List<(MessageUpdate Update, long Position)> list, long seq)
    {
        int low = 0, high = list.Count;
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (list[middle].Update.Seq < seq)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private void PutUpdate(MessageUpdate update)
    {
        var position = NextPosition();
        if (!_updates.TryGetValue(update.Room, out var list))
        {
            _updates[update.Room] = list = [];
        }

        list.Insert(FirstUpdateAtOrAfter(list, update.Seq), (update, position));
        _changes[position] = ChangeRecord.ForUpdate(position, _time.GetUtcNow(), update);
    }

    private int UpsertUpdate(MessageUpdate update)
    {
        if (_updates.TryGetValue(update.Room, out var list))
        {
            var index = FirstUpdateAtOrAfter(list, update.Seq);
            if (index < list.Count && list[index].Update.Seq == update.Seq)
            {
                return 0; // immutable: the same (room, seq) is the same event
            }
        }

        PutUpdate(update);
        return 1;
    }

    private void PutReadMarker(ReadMarker marker)
    {
        var position = NextPosition();
        if (_readMarkers.TryGetValue((marker.Room, marker.UserId), out var old))
        {
            _changes.Remove(old.Position);
        }

        _readMarkers[(marker.Room, marker.UserId)] = (marker, position);
        _changes[position] = ChangeRecord.ForReadMarker(position, _time.GetUtcNow(), marker);
    }

    private int UpsertReadMarker(ReadMarker marker)
    {
        if (_readMarkers.TryGetValue((marker.Room, marker.UserId), out var current) && current.Marker.Seq >= marker.Seq)
        {
            return 0;
        }

        PutReadMarker(marker);
        return 1;
    }

    private long CountMembers(string room) => _memberships.TryGetValue(room, out var all) ? all.Values.Count(m => m.Membership.IsMember) : 0L;

    private void PutMembership(RoomMembership membership)
    {
        var position = NextPosition();
        if (!_memberships.TryGetValue(membership.Room, out var members))
        {
            _memberships[membership.Room] = members = [];
        }

        if (members.TryGetValue(membership.UserId, out var old))
        {
            _changes.Remove(old.Position);
        }

        members[membership.UserId] = (membership, position);
        if (!_roomsOfUser.TryGetValue(membership.UserId, out var rooms))
        {
            _roomsOfUser[membership.UserId] = rooms = new HashSet<string>(StringComparer.Ordinal);
        }

        rooms.Add(membership.Room);
        _changes[position] = ChangeRecord.ForMembership(position, _time.GetUtcNow(), membership);
    }

    private int UpsertMembership(RoomMembership membership)
    {
        if (_memberships.TryGetValue(membership.Room, out var members)
            && members.TryGetValue(membership.UserId, out var current)
            && current.Membership.Version >= membership.Version)
        {
            return 0;
        }

        PutMembership(membership);
        return 1;
    }

    private void PutUser(ChatUser user)
    {
        var position = NextPosition();
        if (_users.TryGetValue(user.Id, out var old))
        {
            _changes.Remove(old.Position);
            _userNames.Remove(old.User.NormalizedUserName);
            _sortedUserNames.Remove(old.User.NormalizedUserName);
        }

        _users[user.Id] = (user, position);
        _userNames[user.NormalizedUserName] = user.Id;
        _sortedUserNames.Add(user.NormalizedUserName);
        _changes[position] = ChangeRecord.ForUser(position, _time.GetUtcNow(), user);
    }

    private void PutRoom(ChatRoom room)
    {
        var position = NextPosition();
        if (_rooms.TryGetValue(room.Id, out var old))
        {
            _changes.Remove(old.Position);
            _roomNames.Remove(old.Room.Name);
        }

        _rooms[room.Id] = (room, position);
        _roomNames[room.Name] = room.Id;
        _changes[position] = ChangeRecord.ForRoom(position, _time.GetUtcNow(), room);
    }

    private void PutMessage(ChatMessage message)
    {
        var position = NextPosition();
        if (message.ReplyCount != 0)
        {
            message = message with { ReplyCount = 0 }; // derived at read, never stored
        }

        if (_byId.TryGetValue(message.Id, out var old))
        {
            RemoveMessage(old);
        }

        // Keep the room ordered by seq (binary search: appends stay O(1), replicated messages O(log n) to find); a
        // replicated message may arrive out of order or collide with a drifted one.
        var list = RoomList(message.Room);
        var collision = FirstAtOrAfter(list, message.Seq);
        if (collision < list.Count && list[collision].Seq == message.Seq)
        {
            RemoveMessage(list[collision]);
        }

        if (message.ClientMessageId is { } key && _idempotency.TryGetValue((message.Room, key), out var keyHolder) && keyHolder.Id != message.Id)
        {
            RemoveMessage(keyHolder);
        }

        list.Insert(FirstAtOrAfter(list, message.Seq), message);
        _byId[message.Id] = message;
        _messagePositions[message.Id] = position;
        if (message.ClientMessageId is { } k)
        {
            _idempotency[(message.Room, k)] = message;
        }

        if (message.ThreadRoot is { } root)
        {
            if (!_threads.TryGetValue((message.Room, root), out var replies))
            {
                _threads[(message.Room, root)] = replies = [];
            }

            replies[message.Seq] = message.Id;
            if (!message.Deleted)
            {
                _replyCounts[(message.Room, root)] = _replyCounts.GetValueOrDefault((message.Room, root)) + 1;
            }
        }

        _changes[position] = ChangeRecord.ForMessage(position, _time.GetUtcNow(), message);
    }

    /// <summary>The index of the first message with a seq at or above <paramref name="seq"/> (the list is ordered by seq).</summary>
    private static int FirstAtOrAfter(List<ChatMessage> list, long seq)
    {
        if (list.Count == 0 || list[^1].Seq < seq)
        {
            return list.Count; // the common case: an append at the end
        }

        int low = 0, high = list.Count;
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (list[middle].Seq < seq)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>Removes a stored message and its index entries (its change, idempotency key, thread entry).</summary>
    private void RemoveMessage(ChatMessage victim)
    {
        var list = _messages[victim.Room];
        var index = FirstAtOrAfter(list, victim.Seq);
        if (index >= list.Count || list[index].Id != victim.Id)
        {
            index = list.FindIndex(m => m.Id == victim.Id);
        }

        list.RemoveAt(index);
        _byId.Remove(victim.Id);
        if (_messagePositions.Remove(victim.Id, out var position))
        {
            _changes.Remove(position);
        }

        if (victim.ClientMessageId is { } key && _idempotency.TryGetValue((victim.Room, key), out var holder) && holder.Id == victim.Id)
        {
            _idempotency.Remove((victim.Room, key));
        }

        if (victim.ThreadRoot is { } root && _threads.TryGetValue((victim.Room, root), out var replies))
        {
            replies.Remove(victim.Seq);
            if (!victim.Deleted)
            {
                var count = _replyCounts.GetValueOrDefault((victim.Room, root)) - 1;
                if (count > 0)
                {
                    _replyCounts[(victim.Room, root)] = count;
                }
                else
                {
                    _replyCounts.Remove((victim.Room, root));
                }
            }
        }
    }

    private int UpsertUser(ChatUser user)
    {
        if (_users.TryGetValue(user.Id, out var current) && current.User.Version >= user.Version)
        {
            return 0;
        }

        // A different user holding the same name (drift) loses to the replicated one.
        if (_userNames.TryGetValue(user.NormalizedUserName, out var holder) && holder != user.Id)
        {
            _changes.Remove(_users[holder].Position);
            _users.Remove(holder);
            _userNames.Remove(user.NormalizedUserName);
            _sortedUserNames.Remove(user.NormalizedUserName);
        }

        PutUser(user);
        return 1;
    }

    private int UpsertRoom(ChatRoom room)
    {
        if (_rooms.TryGetValue(room.Id, out var current) && current.Room.Version >= room.Version)
        {
            return 0;
        }

        if (_roomNames.TryGetValue(room.Name, out var holder) && holder != room.Id)
        {
            _changes.Remove(_rooms[holder].Position);
            _rooms.Remove(holder);
            _roomNames.Remove(room.Name);
        }

        PutRoom(room);
        return 1;
    }

    private int UpsertMessage(ChatMessage message)
    {
        if (_byId.TryGetValue(message.Id, out var current) && current.Version >= message.Version)
        {
            return 0;
        }

        PutMessage(message);
        return 1;
    }
}
