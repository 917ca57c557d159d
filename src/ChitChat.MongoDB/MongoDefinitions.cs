using MongoDB.Bson;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

/// <summary>
/// The filters, updates, sorts and indexes the store sends, in one place so that tests can render them to BSON offline
/// and compare with the intended shell syntax.
/// </summary>
internal static class MongoDefinitions
{
    /// <summary>The <c>_id</c> of the change-feed counter document.</summary>
    public const string ChangesCounterId = "changes";

    // ---- indexes ---------------------------------------------------------------------------------------------------

    /// <summary>Users: unique on the normalized (upper-invariant) name. A normalized field rather than a collation index
    /// (locale "en", strength 2): it gives exactly the equivalence classes of <see cref="ChatUser.Normalize"/> that the
    /// other providers and <see cref="Accounts.AccountService"/> use (ICU case folding differs for e.g. 'ß' or dotless i), and plain
    /// equality queries use it without having to repeat the collation on every query.</summary>
    public static IEnumerable<CreateIndexModel<UserDocument>> UserIndexes() =>
    [
        new(Builders<UserDocument>.IndexKeys.Ascending(Fields.NormalizedUserName), new CreateIndexOptions { Name = "ux_name_norm", Unique = true }),
        new(Builders<UserDocument>.IndexKeys.Ascending(Fields.Position), new CreateIndexOptions { Name = "ix_pos" }),
    ];

    /// <summary>Rooms: unique name (already a lower-case slug), change-feed position, and (kind, name) for the public rooms
    /// of every room list.</summary>
    public static IEnumerable<CreateIndexModel<RoomDocument>> RoomIndexes() =>
    [
        new(Builders<RoomDocument>.IndexKeys.Ascending(Fields.RoomName), new CreateIndexOptions { Name = "ux_name", Unique = true }),
        new(Builders<RoomDocument>.IndexKeys.Ascending(Fields.Position), new CreateIndexOptions { Name = "ix_pos" }),
        new(Builders<RoomDocument>.IndexKeys.Ascending(Fields.RoomKind).Ascending(Fields.RoomName), new CreateIndexOptions { Name = "ix_kind_name" }),
    ];

    /// <summary>Memberships (<c>_id</c> derived from room and user): a room's members in listing order, its bans and its
    /// member count (room, state, role descending, name); a user's rooms (uid, state); the change-feed position.</summary>
    public static IEnumerable<CreateIndexModel<MembershipDocument>> MembershipIndexes() =>
    [
        new(
            Builders<MembershipDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.State).Descending(Fields.Role).Ascending(Fields.MemberName),
            new CreateIndexOptions { Name = "ix_room_state_role_name" }),
        new(Builders<MembershipDocument>.IndexKeys.Ascending(Fields.UserId).Ascending(Fields.State), new CreateIndexOptions { Name = "ix_uid_state" }),
        new(Builders<MembershipDocument>.IndexKeys.Ascending(Fields.Position), new CreateIndexOptions { Name = "ix_pos" }),
    ];

    /// <summary>Messages: unique (room, seq) — the gap-free sequence relies on it —, unique (room, cmid) for documents that
    /// have an idempotency key, and the change-feed position.</summary>
    public static IEnumerable<CreateIndexModel<MessageDocument>> MessageIndexes() =>
    [
        new(Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.Seq), new CreateIndexOptions { Name = "ux_room_seq", Unique = true }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.ClientMessageId),
            new CreateIndexOptions<MessageDocument>
            {
                Name = "ux_room_cmid",
                Unique = true,
                PartialFilterExpression = Builders<MessageDocument>.Filter.Exists(Fields.ClientMessageId),
            }),
        new(Builders<MessageDocument>.IndexKeys.Ascending(Fields.Position), new CreateIndexOptions { Name = "ix_pos" }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.SeqClaims),
            new CreateIndexOptions<MessageDocument>
            {
                Name = "ux_room_seqs",
                Unique = true,
                PartialFilterExpression = Builders<MessageDocument>.Filter.Exists(Fields.SeqClaims),
            }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.LastUpdateSeq),
            new CreateIndexOptions<MessageDocument> { Name = "ix_room_useq", PartialFilterExpression = Builders<MessageDocument>.Filter.Exists(Fields.LastUpdateSeq) }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.PendingUpdate + ".s"),
            new CreateIndexOptions<MessageDocument> { Name = "ix_room_pending", PartialFilterExpression = Builders<MessageDocument>.Filter.Exists(Fields.PendingUpdate) }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.ThreadRoot).Ascending(Fields.Seq),
            new CreateIndexOptions<MessageDocument> { Name = "ix_room_thread_seq", PartialFilterExpression = Builders<MessageDocument>.Filter.Exists(Fields.ThreadRoot) }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.Seq).Ascending(Fields.AuthorId).Ascending(Fields.Deleted),
            new CreateIndexOptions { Name = "ix_room_seq_author_deleted" }),
        new(
            Builders<MessageDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.Mentions).Ascending(Fields.Seq),
            new CreateIndexOptions<MessageDocument> { Name = "ix_room_mentions_seq", PartialFilterExpression = Builders<MessageDocument>.Filter.Exists(Fields.Mentions) }),
        new(
            Builders<MessageDocument>.IndexKeys.Text(Fields.Text),
            new CreateIndexOptions { Name = "tx_text", DefaultLanguage = "none", TextIndexVersion = 3 }),
    ];

    /// <summary>Update events: unique (room, seq) — with the <c>_id</c> derived from the same pair, one event per number — and the change-feed position.</summary>
    public static IEnumerable<CreateIndexModel<MessageUpdateDocument>> MessageUpdateIndexes() =>
    [
        new(Builders<MessageUpdateDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.Seq), new CreateIndexOptions { Name = "ux_room_seq", Unique = true }),
        new(Builders<MessageUpdateDocument>.IndexKeys.Ascending(Fields.Position), new CreateIndexOptions { Name = "ix_pos" }),
    ];

    /// <summary>Read markers (<c>_id</c> derived from room and user, the key every read uses): the change-feed position and (room, uid) for scans.</summary>
    public static IEnumerable<CreateIndexModel<ReadMarkerDocument>> ReadMarkerIndexes() =>
    [
        new(Builders<ReadMarkerDocument>.IndexKeys.Ascending(Fields.Room).Ascending(Fields.UserId), new CreateIndexOptions { Name = "ix_room_uid" }),
        new(Builders<ReadMarkerDocument>.IndexKeys.Ascending(Fields.Position), new CreateIndexOptions { Name = "ix_pos" }),
    ];

    // ---- ids -------------------------------------------------------------------------------------------------------

    /// <summary>A GUID as stored: binary subtype 4. Filters name fields by string, so the value is given as BSON explicitly
    /// (a plain Guid value would be rendered with the registry's default Guid serializer, not the member's).</summary>
    public static BsonBinaryData StoredGuid(Guid id) => new(id, GuidRepresentation.Standard);

    /// <summary><c>{_id: UUID(id)}</c>.</summary>
    public static FilterDefinition<T> IdEquals<T>(Guid id) => Builders<T>.Filter.Eq(Fields.Id, StoredGuid(id));

    // ---- users, rooms ----------------------------------------------------------------------------------------------

    public static FilterDefinition<UserDocument> UserByNormalizedName(string normalizedName) =>
        Builders<UserDocument>.Filter.Eq(Fields.NormalizedUserName, normalizedName);

    public static FilterDefinition<RoomDocument> RoomByName(string name) => Builders<RoomDocument>.Filter.Eq(Fields.RoomName, name);

    /// <summary>The user directory: a range of the unique normalized-name index, <c>{name_norm: {$gte: p, $lt: p + U+10FFFF}}</c>
    /// (strings compare as UTF-8 bytes, so every name starting with <c>p</c> is in it).</summary>
    public static FilterDefinition<UserDocument> UsersWithNamePrefix(string normalizedPrefix) =>
        Builders<UserDocument>.Filter.Gte(Fields.NormalizedUserName, normalizedPrefix)
        & Builders<UserDocument>.Filter.Lt(Fields.NormalizedUserName, normalizedPrefix + char.ConvertFromUtf32(0x10FFFF));

    public static SortDefinition<UserDocument> NormalizedNameAscending => Builders<UserDocument>.Sort.Ascending(Fields.NormalizedUserName);

    /// <summary>Public rooms, including those written before kinds existed (no <c>kind</c>): <c>{kind: {$in: [null, 0]}}</c> on ix_kind_name.</summary>
    public static FilterDefinition<RoomDocument> PublicRooms => EqOrMissing<RoomDocument>(Fields.RoomKind, (long)RoomKind.Public);

    public static FilterDefinition<RoomDocument> RoomsByName(IEnumerable<string> names) => Builders<RoomDocument>.Filter.In(Fields.RoomName, names);

    public static SortDefinition<RoomDocument> RoomNameAscending => Builders<RoomDocument>.Sort.Ascending(Fields.RoomName);

    /// <summary>The compare-and-set of a room's memberships: <c>{name, mv: expected, mpend: {$exists: false}}</c> (no earlier change still settling).</summary>
    public static FilterDefinition<RoomDocument> RoomAtMembershipVersion(string name, long expected) =>
        Builders<RoomDocument>.Filter.Eq(Fields.RoomName, name)
        & EqOrMissing<RoomDocument>(Fields.MembershipVersion, expected)
        & Builders<RoomDocument>.Filter.Exists(Fields.PendingMemberships, false);

    /// <summary><c>{field: value}</c>, or <c>{field: {$in: [null, 0]}}</c> for 0: documents written before the field existed read it as 0.</summary>
    public static FilterDefinition<T> EqOrMissing<T>(string field, long value) =>
        value == 0 ? Builders<T>.Filter.In(field, new BsonValue[] { BsonNull.Value, 0 }) : Builders<T>.Filter.Eq(field, value);

    /// <summary>Takes the next membership version and records the writes to settle: <c>{$set: {mv: expected + 1, mpend: [...], pos, changed, changed_x}, $inc: {v: 1}}</c>.</summary>
    public static UpdateDefinition<RoomDocument> BeginMembershipChange(long expected, IReadOnlyList<MembershipDocument> writes, long position, DateTimeOffset now)
    {
        var (changed, changedX) = Time.Split(now);
        return Builders<RoomDocument>.Update
            .Set(Fields.MembershipVersion, expected + 1)
            .Set(Fields.PendingMemberships, writes)
            .Set(Fields.Position, position)
            .Set(Fields.ChangedAt, changed)
            .Set(Fields.ChangedAtExtra, changedX)
            .Inc(Fields.Version, 1L);
    }

    /// <summary>The room whose pending writes of membership version <paramref name="membershipVersion"/> are settled: <c>{_id, mv}</c>.</summary>
    public static FilterDefinition<RoomDocument> RoomSettling(Guid id, long membershipVersion) =>
        IdEquals<RoomDocument>(id) & Builders<RoomDocument>.Filter.Eq(Fields.MembershipVersion, membershipVersion);

    /// <summary>Drops the settled writes: <c>{$unset: {mpend: ''}}</c>.</summary>
    public static UpdateDefinition<RoomDocument> EndMembershipChange => Builders<RoomDocument>.Update.Unset(Fields.PendingMemberships);

    /// <summary>Compare-and-set of a room document on its version: <c>{_id, v: version - 1, name, kind, mv}</c> (the fields a topic update must not change).</summary>
    public static FilterDefinition<RoomDocument> RoomAtVersion(ChatRoom room)
    {
        var f = Builders<RoomDocument>.Filter;
        return IdEquals<RoomDocument>(room.Id)
            & f.Eq(Fields.Version, room.Version - 1)
            & f.Eq(Fields.RoomName, room.Name)
            & EqOrMissing<RoomDocument>(Fields.RoomKind, (long)room.Kind)
            & EqOrMissing<RoomDocument>(Fields.MembershipVersion, room.MembershipVersion)
            & f.Exists(Fields.PendingMemberships, false);
    }

    // ---- memberships -----------------------------------------------------------------------------------------------

    public static FilterDefinition<MembershipDocument> MembershipsInRoom(string room, MembershipState state) =>
        Builders<MembershipDocument>.Filter.Eq(Fields.Room, room) & Builders<MembershipDocument>.Filter.Eq(Fields.State, (int)state);

    /// <summary>Owners first: <c>{role: -1, uname: 1, uid: 1}</c> (the index's order after its equality prefix).</summary>
    public static SortDefinition<MembershipDocument> MembersOrder =>
        Builders<MembershipDocument>.Sort.Descending(Fields.Role).Ascending(Fields.MemberName).Ascending(Fields.UserId);

    /// <summary>Bans in force: <c>{room, state: 3, $or: [{banned: null}, {banned: {$gt: now}}]}</c>.</summary>
    public static FilterDefinition<MembershipDocument> BansInForce(string room, DateTimeOffset now)
    {
        var f = Builders<MembershipDocument>.Filter;
        var (date, _) = Time.Split(now);

        // Millisecond dates: a ban ending within the same millisecond as 'now' is decided on the ticks by the caller.
        return MembershipsInRoom(room, MembershipState.Banned) & f.Or(f.Eq(Fields.BannedUntil, BsonNull.Value), f.Gte(Fields.BannedUntil, date));
    }

    public static SortDefinition<MembershipDocument> NameThenUser =>
        Builders<MembershipDocument>.Sort.Ascending(Fields.MemberName).Ascending(Fields.UserId);

    /// <summary>A user's memberships in one state: <c>{uid, state}</c> on ix_uid_state.</summary>
    public static FilterDefinition<MembershipDocument> MembershipsOfUser(Guid userId, MembershipState state) =>
        Builders<MembershipDocument>.Filter.Eq(Fields.UserId, StoredGuid(userId)) & Builders<MembershipDocument>.Filter.Eq(Fields.State, (int)state);

    public static SortDefinition<MembershipDocument> RoomThenUser => Builders<MembershipDocument>.Sort.Ascending(Fields.Room).Ascending(Fields.UserId);

    /// <summary>Member counts of some rooms in one aggregation on ix_room_state_role_name:
    /// <c>[{$match: {room: {$in: rooms}, state: 0}}, {$group: {_id: '$room', n: {$sum: 1}}}]</c>.</summary>
    public static BsonDocument[] MemberCountsPipeline(IEnumerable<string> rooms) =>
    [
        new("$match", new BsonDocument { { Fields.Room, new BsonDocument("$in", new BsonArray(rooms)) }, { Fields.State, (int)MembershipState.Member } }),
        new("$group", new BsonDocument { { "_id", "$" + Fields.Room }, { "n", new BsonDocument("$sum", 1) } }),
    ];
    // ---- messages --------------------------------------------------------------------------------------------------

    public static FilterDefinition<MessageDocument> MessagesInRoom(string room) => Builders<MessageDocument>.Filter.Eq(Fields.Room, room);

    public static FilterDefinition<MessageDocument> MessageByClientId(string room, string clientMessageId) =>
        Builders<MessageDocument>.Filter.Eq(Fields.Room, room) & Builders<MessageDocument>.Filter.Eq(Fields.ClientMessageId, clientMessageId);

    /// <summary>A page of history: <c>{room, seq: {$gt: after, $lt: before}}</c> (either bound optional).</summary>
    public static FilterDefinition<MessageDocument> MessagePage(string room, long? afterSeq, long? beforeSeq)
    {
        var f = Builders<MessageDocument>.Filter;
        var filter = f.Eq(Fields.Room, room);
        if (afterSeq is { } after)
        {
            filter &= f.Gt(Fields.Seq, after);
        }

        if (beforeSeq is { } before)
        {
            filter &= f.Lt(Fields.Seq, before);
        }

        return filter;
    }

    public static SortDefinition<MessageDocument> SeqAscending => Builders<MessageDocument>.Sort.Ascending(Fields.Seq);

    public static SortDefinition<MessageDocument> SeqDescending => Builders<MessageDocument>.Sort.Descending(Fields.Seq);

    public static SortDefinition<MessageDocument> RoomThenSeq => Builders<MessageDocument>.Sort.Ascending(Fields.Room).Ascending(Fields.Seq);

    /// <summary>A message of a room by id: <c>{_id, room}</c>.</summary>
    public static FilterDefinition<MessageDocument> MessageInRoom(string room, Guid id) =>
        IdEquals<MessageDocument>(id) & Builders<MessageDocument>.Filter.Eq(Fields.Room, room);

    /// <summary>Messages written before the event sequence was shared with updates: <c>{seqs: {$exists: false}}</c>.</summary>
    public static FilterDefinition<MessageDocument> MessagesWithoutSeqClaims => Builders<MessageDocument>.Filter.Exists(Fields.SeqClaims, false);

    /// <summary>Gives them their own seq as their only claim: <c>[{$set: {seqs: ['$seq']}}]</c>.</summary>
    public static UpdateDefinition<MessageDocument> ClaimOwnSeq =>
        Builders<MessageDocument>.Update.Pipeline(PipelineDefinition<MessageDocument, MessageDocument>.Create(
            new BsonDocument("$set", new BsonDocument(Fields.SeqClaims, new BsonArray { "$" + Fields.Seq }))));

    /// <summary>The room's highest update seq held by a message: <c>{room, useq: {$exists: true}}</c> sorted <c>{useq: -1}</c> (ix_room_useq).</summary>
    public static FilterDefinition<MessageDocument> MessagesWithUpdates(string room) =>
        Builders<MessageDocument>.Filter.Eq(Fields.Room, room) & Builders<MessageDocument>.Filter.Exists(Fields.LastUpdateSeq);

    public static SortDefinition<MessageDocument> LastUpdateSeqDescending => Builders<MessageDocument>.Sort.Descending(Fields.LastUpdateSeq);

    /// <summary>
    /// The compare-and-set of an update: the message at the version the mutation was applied to, with no earlier update
    /// still settling: <c>{_id, room, v: version, pu: {$exists: false}}</c>.
    /// </summary>
    public static FilterDefinition<MessageDocument> MessageAtVersion(string room, Guid id, long version) =>
        MessageInRoom(room, id)
        & Builders<MessageDocument>.Filter.Eq(Fields.Version, version)
        & Builders<MessageDocument>.Filter.Exists(Fields.PendingUpdate, false);

    /// <summary>
    /// Stores a message's new version and claims the update's seq in one single-document update:
    /// <c>{$set: {text, deleted, edited_at?, reactions?, mentions?, v, useq: seq, pu: {s, c, mv, at, at_x}, pos, changed, changed_x},
    /// $unset: {...absent fields}, $push: {seqs: seq}}</c>. The push makes it fail with a duplicate key on <c>ux_room_seqs</c>
    /// when another message (or append) of the room already holds <paramref name="update"/>'s seq.
    /// </summary>
    public static UpdateDefinition<MessageDocument> ApplyMessageChange(ChatMessage next, MessageUpdate update, long position, DateTimeOffset now)
    {
        var u = Builders<MessageDocument>.Update;
        var (changed, changedX) = Time.Split(now);
        var updates = new List<UpdateDefinition<MessageDocument>>
        {
            u.Set(Fields.Text, next.Text),
            u.Set(Fields.Version, next.Version),
            u.Set(Fields.LastUpdateSeq, update.Seq),
            u.Set(Fields.PendingUpdate, PendingUpdateDocument.From(update)),
            u.Push(Fields.SeqClaims, update.Seq),
            u.Set(Fields.Position, position),
            u.Set(Fields.ChangedAt, changed),
            u.Set(Fields.ChangedAtExtra, changedX),
            next.Deleted ? u.Set(Fields.Deleted, true) : u.Unset(Fields.Deleted),
        };
        if (next.EditedAt is { } edited)
        {
            var (date, extra) = Time.Split(edited);
            updates.Add(u.Set(Fields.EditedAt, date));
            updates.Add(u.Set(Fields.EditedAtExtra, extra));
        }
        else
        {
            updates.Add(u.Unset(Fields.EditedAt));
            updates.Add(u.Unset(Fields.EditedAtExtra));
        }

        updates.Add(ReactionDocument.From(next.Reactions) is { } reactions ? u.Set(Fields.Reactions, reactions) : u.Unset(Fields.Reactions));
        updates.Add(MessageDocument.GuidList(next.Mentions) is { } mentions ? u.Set(Fields.Mentions, mentions) : u.Unset(Fields.Mentions));
        return u.Combine(updates);
    }

    /// <summary>The message whose pending update of <paramref name="seq"/> is settled: <c>{_id, 'pu.s': seq}</c>.</summary>
    public static FilterDefinition<MessageDocument> MessageSettling(Guid id, long seq) =>
        IdEquals<MessageDocument>(id) & Builders<MessageDocument>.Filter.Eq(Fields.PendingUpdate + ".s", seq);

    /// <summary>Drops a settled redo log: <c>{$unset: {pu: ''}}</c>.</summary>
    public static UpdateDefinition<MessageDocument> EndMessageChange => Builders<MessageDocument>.Update.Unset(Fields.PendingUpdate);

    /// <summary>Messages of a room with a pending update in <c>(after, upTo]</c>: <c>{room, 'pu.s': {$gt: after, $lte: upTo}}</c> (ix_room_pending).</summary>
    public static FilterDefinition<MessageDocument> PendingUpdates(string room, long afterSeq, long upToSeq) =>
        Builders<MessageDocument>.Filter.Eq(Fields.Room, room)
        & Builders<MessageDocument>.Filter.Gt(Fields.PendingUpdate + ".s", afterSeq)
        & Builders<MessageDocument>.Filter.Lte(Fields.PendingUpdate + ".s", upToSeq);

    /// <summary>Every message with a pending update: <c>{pu: {$exists: true}}</c>.</summary>
    public static FilterDefinition<MessageDocument> AnyPendingUpdate => Builders<MessageDocument>.Filter.Exists(Fields.PendingUpdate);

    /// <summary>A range of a room's messages by their own seq: <c>{room, seq: {$gt: after, $lte: upTo}}</c> (ux_room_seq).</summary>
    public static FilterDefinition<MessageDocument> MessageSeqRange(string room, long afterSeq, long upToSeq) =>
        Builders<MessageDocument>.Filter.Eq(Fields.Room, room)
        & Builders<MessageDocument>.Filter.Gt(Fields.Seq, afterSeq)
        & Builders<MessageDocument>.Filter.Lte(Fields.Seq, upToSeq);

    /// <summary>A range of a room's update events: <c>{room, seq: {$gt: after, $lte: upTo}}</c> (ux_room_seq of message_updates).</summary>
    public static FilterDefinition<MessageUpdateDocument> UpdateSeqRange(string room, long afterSeq, long upToSeq) =>
        Builders<MessageUpdateDocument>.Filter.Eq(Fields.Room, room)
        & Builders<MessageUpdateDocument>.Filter.Gt(Fields.Seq, afterSeq)
        & Builders<MessageUpdateDocument>.Filter.Lte(Fields.Seq, upToSeq);

    public static FilterDefinition<MessageUpdateDocument> UpdatesInRoom(string room) => Builders<MessageUpdateDocument>.Filter.Eq(Fields.Room, room);

    public static SortDefinition<MessageUpdateDocument> UpdateSeqAscending => Builders<MessageUpdateDocument>.Sort.Ascending(Fields.Seq);

    public static SortDefinition<MessageUpdateDocument> UpdateSeqDescending => Builders<MessageUpdateDocument>.Sort.Descending(Fields.Seq);

    public static SortDefinition<MessageUpdateDocument> UpdateRoomThenSeq => Builders<MessageUpdateDocument>.Sort.Ascending(Fields.Room).Ascending(Fields.Seq);

    /// <summary>Messages of a room by id: <c>{room, _id: {$in: ids}}</c>.</summary>
    public static FilterDefinition<MessageDocument> MessagesByIds(string room, IEnumerable<Guid> ids) =>
        Builders<MessageDocument>.Filter.Eq(Fields.Room, room) & Builders<MessageDocument>.Filter.In(Fields.Id, ids.Select(StoredGuid));

    /// <summary>A thread page: <c>{room, thread_root: root, seq: {$gt: after}}</c> sorted by seq (ix_room_thread_seq).</summary>
    public static FilterDefinition<MessageDocument> ThreadPage(string room, Guid rootId, long? afterSeq)
    {
        var f = Builders<MessageDocument>.Filter;
        var filter = f.Eq(Fields.Room, room) & f.Eq(Fields.ThreadRoot, StoredGuid(rootId));
        return afterSeq is { } after ? filter & f.Gt(Fields.Seq, after) : filter;
    }

    /// <summary>The reply counts of some roots, on ix_room_thread_seq:
    /// <c>[{$match: {room, thread_root: {$in: roots}, deleted: {$ne: true}}}, {$group: {_id: '$thread_root', n: {$sum: 1}}}]</c>.</summary>
    public static BsonDocument[] ReplyCountsPipeline(string room, IEnumerable<Guid> roots) =>
    [
        new("$match", new BsonDocument
        {
            { Fields.Room, room },
            { Fields.ThreadRoot, new BsonDocument("$in", new BsonArray(roots.Select(StoredGuid))) },
            { Fields.Deleted, new BsonDocument("$ne", true) },
        }),
        new("$group", new BsonDocument { { "_id", "$" + Fields.ThreadRoot }, { "n", new BsonDocument("$sum", 1) } }),
    ];

    /// <summary>
    /// Full-text search: <c>{$text: {$search: '"t1" "t2"'}, room: {$in: rooms}, deleted: {$ne: true}, $or: [cursor]}</c>. Every term
    /// is a quoted phrase, so all must occur (unquoted terms would be OR'd), and whatever a term holds is text, never an
    /// operator (the terms are words of <see cref="SearchText.Words"/>: letters and digits only).
    /// </summary>
    public static FilterDefinition<MessageDocument> Search(MessageSearch search)
    {
        var f = Builders<MessageDocument>.Filter;
        var filter = f.Text(SearchExpression(search.Terms))
            & f.In(Fields.Room, search.Rooms)
            & f.Ne(Fields.Deleted, true);
        if (search.Before is { } before)
        {
            var (date, extra) = Time.Split(before.SentAt);
            filter &= f.Or(
                f.Lt(Fields.SentAt, date),
                f.Eq(Fields.SentAt, date) & f.Lt(Fields.SentAtExtra, extra),
                f.Eq(Fields.SentAt, date) & f.Eq(Fields.SentAtExtra, extra) & f.Lt(Fields.Seq, before.Seq),
                f.Eq(Fields.SentAt, date) & f.Eq(Fields.SentAtExtra, extra) & f.Eq(Fields.Seq, before.Seq) & f.Lt(Fields.Room, before.Room));
        }

        return filter;
    }

    /// <summary>The <c>$search</c> string: each term as a quoted phrase, any quote or backslash in it dropped.</summary>
    public static string SearchExpression(IReadOnlyList<string> terms) =>
        string.Join(' ', terms.Select(t => "\"" + t.Replace("\"", string.Empty, StringComparison.Ordinal).Replace("\\", string.Empty, StringComparison.Ordinal) + "\""));

    /// <summary>Newest first: <c>{sent: -1, sent_x: -1, seq: -1, room: -1}</c> (the order of <see cref="MessageSearchCursor"/>).</summary>
    public static SortDefinition<MessageDocument> SearchOrder =>
        Builders<MessageDocument>.Sort.Descending(Fields.SentAt).Descending(Fields.SentAtExtra).Descending(Fields.Seq).Descending(Fields.Room);

    // ---- read state ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Moves a read marker forward, as one upsert with an update pipeline (on <c>{_id}</c>, returning the document before):
    /// <c>[{$set: {room, uid, at: moved ? at : '$at', at_x: ..., pos: moved ? pos : '$pos', changed: ..., seq: {$max: ['$seq', seq]}, v: {$max: ['$v', seq]}}}]</c>
    /// where <c>moved</c> is <c>{$lt: [{$ifNull: ['$seq', -1]}, seq]}</c>. Every expression of one <c>$set</c> stage reads the
    /// document as it was, so a lower or equal seq changes nothing, and concurrent calls end at the highest.
    /// </summary>
    public static UpdateDefinition<ReadMarkerDocument> MarkRead(string room, Guid userId, long seq, DateTimeOffset at, long position, DateTimeOffset now)
    {
        var (atDate, atX) = Time.Split(at);
        var (changed, changedX) = Time.Split(now);
        var moved = new BsonDocument("$lt", new BsonArray { new BsonDocument("$ifNull", new BsonArray { "$" + Fields.Seq, -1L }), seq });
        BsonDocument IfMoved(BsonValue value, string field) => new("$cond", new BsonArray { moved, value, "$" + field });
        var set = new BsonDocument
        {
            { Fields.Room, room },
            { Fields.UserId, StoredGuid(userId) },
            { Fields.At, IfMoved(atDate, Fields.At) },
            { Fields.AtExtra, IfMoved(atX, Fields.AtExtra) },
            { Fields.Position, IfMoved(position, Fields.Position) },
            { Fields.ChangedAt, IfMoved(changed, Fields.ChangedAt) },
            { Fields.ChangedAtExtra, IfMoved(changedX, Fields.ChangedAtExtra) },
            { Fields.Seq, new BsonDocument("$max", new BsonArray { "$" + Fields.Seq, seq }) },
            { Fields.Version, new BsonDocument("$max", new BsonArray { "$" + Fields.Version, seq }) },
        };
        return Builders<ReadMarkerDocument>.Update.Pipeline(PipelineDefinition<ReadMarkerDocument, ReadMarkerDocument>.Create(new BsonDocument("$set", set)));
    }

    /// <summary>Some read markers of a user: <c>{_id: {$in: ids}}</c> (ids derived from room and user).</summary>
    public static FilterDefinition<ReadMarkerDocument> ReadMarkersOf(Guid userId, IEnumerable<string> rooms) =>
        Builders<ReadMarkerDocument>.Filter.In(Fields.Id, rooms.Select(r => StoredGuid(ReadMarker.IdFor(r, userId))));

    public static SortDefinition<ReadMarkerDocument> MarkerRoomThenUser => Builders<ReadMarkerDocument>.Sort.Ascending(Fields.Room).Ascending(Fields.UserId);

    /// <summary>
    /// Unread counts of a user's rooms, one aggregation with one <c>$or</c> clause per room, each a range of
    /// ix_room_seq_author_deleted: <c>[{$match: {$or: [{room, seq: {$gt: read}}, ...], author_id: {$ne: user}, deleted: {$ne: true}}},
    /// {$group: {_id: '$room', n: {$sum: 1}}}]</c>.
    /// </summary>
    public static BsonDocument[] UnreadCountsPipeline(Guid userId, IReadOnlyDictionary<string, long> readSeqs) =>
        CountsPipeline(userId, readSeqs, mentions: false);

    /// <summary>Mention counts of a user's rooms on ix_room_mentions_seq: like <see cref="UnreadCountsPipeline"/> with <c>mentions: user</c> in every clause.</summary>
    public static BsonDocument[] MentionCountsPipeline(Guid userId, IReadOnlyDictionary<string, long> readSeqs) =>
        CountsPipeline(userId, readSeqs, mentions: true);

    private static BsonDocument[] CountsPipeline(Guid userId, IReadOnlyDictionary<string, long> readSeqs, bool mentions)
    {
        var clauses = new BsonArray();
        foreach (var (room, read) in readSeqs.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var clause = new BsonDocument(Fields.Room, room);
            if (mentions)
            {
                clause.Add(Fields.Mentions, StoredGuid(userId));
            }

            clause.Add(Fields.Seq, new BsonDocument("$gt", read));
            clauses.Add(clause);
        }

        return
        [
            new("$match", new BsonDocument
            {
                { "$or", clauses },
                { Fields.AuthorId, new BsonDocument("$ne", StoredGuid(userId)) },
                { Fields.Deleted, new BsonDocument("$ne", true) },
            }),
            new("$group", new BsonDocument { { "_id", "$" + Fields.Room }, { "n", new BsonDocument("$sum", 1) } }),
        ];
    }

    // ---- change feed -----------------------------------------------------------------------------------------------

    /// <summary>The changes of one collection in <c>(after, upTo]</c>: <c>{pos: {$gt: after, $lte: upTo}}</c>.</summary>
    public static FilterDefinition<T> PositionRange<T>(long after, long upTo) =>
        Builders<T>.Filter.Gt(Fields.Position, after) & Builders<T>.Filter.Lte(Fields.Position, upTo);

    public static SortDefinition<T> PositionAscending<T>() => Builders<T>.Sort.Ascending(Fields.Position);

    public static SortDefinition<T> PositionDescending<T>() => Builders<T>.Sort.Descending(Fields.Position);

    public static FilterDefinition<CounterDocument> ChangesCounter => Builders<CounterDocument>.Filter.Eq(Fields.Id, ChangesCounterId);

    /// <summary>
    /// Reserves <paramref name="count"/> positions atomically (one findOneAndUpdate with an update pipeline; MongoDB 4.2+):
    /// drops pending reservations older than <paramref name="pendingTimeout"/> (their writers died), appends
    /// <c>{p: v + 1, t: $$NOW}</c> to <c>pending</c>, then adds <paramref name="count"/> to <c>v</c>. The caller's block
    /// is <c>[v_after - count + 1, v_after]</c>. Server time (<c>$$NOW</c>) is used so node clocks never matter.
    /// </summary>
    public static UpdateDefinition<CounterDocument> ReservePositions(int count, TimeSpan pendingTimeout)
    {
        var pipeline = new BsonDocument[]
        {
            new("$set", new BsonDocument(Fields.Pending, new BsonDocument("$concatArrays", new BsonArray
            {
                LivePending(pendingTimeout),
                new BsonArray
                {
                    new BsonDocument
                    {
                        { "p", new BsonDocument("$add", new BsonArray { new BsonDocument("$ifNull", new BsonArray { "$" + Fields.CounterValue, 0L }), 1L }) },
                        { "t", "$$NOW" },
                    },
                },
            }))),
            new("$set", new BsonDocument(Fields.CounterValue, new BsonDocument("$add", new BsonArray
            {
                new BsonDocument("$ifNull", new BsonArray { "$" + Fields.CounterValue, 0L }),
                (long)count,
            }))),
        };
        return Builders<CounterDocument>.Update.Pipeline(PipelineDefinition<CounterDocument, CounterDocument>.Create(pipeline));
    }

    /// <summary>Removes a finished reservation: <c>{$pull: {pending: {p: first}}}</c>.</summary>
    public static UpdateDefinition<CounterDocument> ReleasePositions(long first) =>
        new BsonDocumentUpdateDefinition<CounterDocument>(new BsonDocument("$pull", new BsonDocument(Fields.Pending, new BsonDocument("p", first))));

    /// <summary>Creates the counter document once: <c>{$setOnInsert: {v: 0}}</c> with upsert.</summary>
    public static UpdateDefinition<CounterDocument> CreateCounter => Builders<CounterDocument>.Update.SetOnInsert(Fields.CounterValue, 0L);

    /// <summary>
    /// The read watermark: <c>v</c> (last reserved position) and <c>low</c>, the lowest live pending reservation
    /// (<see langword="null"/> when none). Readers only return positions <c>&lt;= (low ?? v + 1) - 1</c>.
    /// </summary>
    public static BsonDocument[] WatermarkPipeline(TimeSpan pendingTimeout) =>
    [
        new("$match", new BsonDocument(Fields.Id, ChangesCounterId)),
        new("$project", new BsonDocument
        {
            { Fields.CounterValue, 1 },
            { "low", new BsonDocument("$min", new BsonDocument("$map", new BsonDocument { { "input", LivePending(pendingTimeout) }, { "in", "$$this.p" } })) },
        }),
    ];

    private static BsonDocument LivePending(TimeSpan pendingTimeout) =>
        new("$filter", new BsonDocument
        {
            { "input", new BsonDocument("$ifNull", new BsonArray { "$" + Fields.Pending, new BsonArray() }) },
            { "cond", new BsonDocument("$gt", new BsonArray { "$$this.t", new BsonDocument("$subtract", new BsonArray { "$$NOW", (long)pendingTimeout.TotalMilliseconds }) }) },
        });

    // ---- replication -----------------------------------------------------------------------------------------------

    /// <summary>Last writer wins: <c>{_id: id, v: {$lt: version}}</c>. Used with upsert: a missing document is inserted; a
    /// document with an equal or higher version does not match, and the upsert then fails on <c>_id</c> (treated as "no change").</summary>
    public static FilterDefinition<T> OlderVersion<T>(Guid id, long version) =>
        IdEquals<T>(id) & Builders<T>.Filter.Lt(Fields.Version, version);

    /// <summary>Other users holding the same normalized name (drift between stores): the replicated user wins.</summary>
    public static FilterDefinition<UserDocument> OtherUsersWithName(Guid id, string normalizedName) =>
        Builders<UserDocument>.Filter.Eq(Fields.NormalizedUserName, normalizedName) & Builders<UserDocument>.Filter.Ne(Fields.Id, StoredGuid(id));

    public static FilterDefinition<RoomDocument> OtherRoomsWithName(Guid id, string name) =>
        Builders<RoomDocument>.Filter.Eq(Fields.RoomName, name) & Builders<RoomDocument>.Filter.Ne(Fields.Id, StoredGuid(id));

    /// <summary>Other messages of the room holding the same seq or idempotency key: the replicated message wins.</summary>
    public static FilterDefinition<MessageDocument> OtherMessagesInSlot(Guid id, string room, long seq, string? clientMessageId)
    {
        var f = Builders<MessageDocument>.Filter;
        var slot = clientMessageId is null
            ? f.Or(f.Eq(Fields.Seq, seq), f.Eq(Fields.SeqClaims, seq))
            : f.Or(f.Eq(Fields.Seq, seq), f.Eq(Fields.SeqClaims, seq), f.Eq(Fields.ClientMessageId, clientMessageId));
        return f.Eq(Fields.Room, room) & f.Ne(Fields.Id, StoredGuid(id)) & slot;
    }

    /// <summary>An update event's only unique key besides <c>_id</c> is (room, seq), from which its <c>_id</c> is derived: no other
    /// document can hold its slot. Matches nothing (<c>{_id, v: {$lt: 0}}</c>).</summary>
    public static FilterDefinition<MessageUpdateDocument> NoOtherUpdates(MessageUpdate update) =>
        IdEquals<MessageUpdateDocument>(update.Id) & Builders<MessageUpdateDocument>.Filter.Lt(Fields.Version, 0L);

    /// <summary>A read marker's <c>_id</c> is derived from (room, user): no other document can hold its slot. Matches nothing.</summary>
    public static FilterDefinition<ReadMarkerDocument> NoOtherMarkers(ReadMarker marker) =>
        IdEquals<ReadMarkerDocument>(marker.Id) & Builders<ReadMarkerDocument>.Filter.Lt(Fields.Version, -1L);

    /// <summary>A membership has no unique key but its <c>_id</c> (derived from room and user): no other document can hold its slot.
    /// Matches nothing (<c>{_id, v: {$lt: 0}}</c>; versions start at 1).</summary>
    public static FilterDefinition<MembershipDocument> NoOtherMemberships(RoomMembership membership) =>
        IdEquals<MembershipDocument>(membership.Id) & Builders<MembershipDocument>.Filter.Lt(Fields.Version, 0L);

    public static FilterDefinition<CheckpointDocument> CheckpointById(string sourceId) => Builders<CheckpointDocument>.Filter.Eq(Fields.Id, sourceId);

    /// <summary>The checkpoint may be written by a token at least as new as the stored one: <c>{_id, fence: {$lte: token}}</c>.</summary>
    public static FilterDefinition<CheckpointDocument> CheckpointWritableBy(string sourceId, long fencingToken) =>
        Builders<CheckpointDocument>.Filter.Eq(Fields.Id, sourceId) & Builders<CheckpointDocument>.Filter.Lte(Fields.Fence, fencingToken);

    /// <summary>Stores the fencing token and time, and the position when given (otherwise keeps it; 0 for a new document).</summary>
    public static UpdateDefinition<CheckpointDocument> WriteCheckpoint(long fencingToken, long? position, DateTimeOffset now)
    {
        var (date, extra) = Time.Split(now);
        var u = Builders<CheckpointDocument>.Update;
        var update = u.Set(Fields.Fence, fencingToken).Set("updated", date).Set("updated_x", extra);
        return position is { } p ? update.Set(Fields.Position, p) : update.SetOnInsert(Fields.Position, 0L);
    }
}
