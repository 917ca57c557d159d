using ChitChat.Storage;
using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;

namespace ChitChat.MongoDB;

// Stored shapes. Every element name is fixed by [BsonElement] so renaming a C# property never changes stored data, and
// [BsonIgnoreExtraElements] lets an older version read documents written by a newer one. Guids are BSON binary subtype 4
// (GuidRepresentation.Standard). Timestamps are a BSON date (UTC, millisecond precision: sortable, readable in the shell)
// plus an "_x" element with the remaining 0..9999 ticks, so a DateTimeOffset round-trips exactly.

/// <summary>Field names shared by the document types (used by filters, sorts and indexes).</summary>
internal static class Fields
{
    public const string Id = "_id";
    public const string Version = "v";
    public const string Position = "pos";
    public const string ChangedAt = "changed";
    public const string ChangedAtExtra = "changed_x";
    public const string NormalizedUserName = "name_norm";
    public const string RoomName = "name";
    public const string Room = "room";
    public const string Seq = "seq";
    public const string ClientMessageId = "cmid";
    public const string Origin = "origin";
    public const string Fence = "fence";
    public const string CounterValue = "v";
    public const string Pending = "pending";
    public const string RoomKind = "kind";
    public const string Topic = "topic";
    public const string MembershipVersion = "mv";
    public const string PendingMemberships = "mpend";
    public const string UserId = "uid";
    public const string MemberName = "uname";
    public const string State = "state";
    public const string Role = "role";
    public const string BannedUntil = "banned";
    public const string Text = "text";
    public const string SentAt = "sent";
    public const string SentAtExtra = "sent_x";
    public const string AuthorId = "author_id";
    public const string EditedAt = "edited_at";
    public const string EditedAtExtra = "edited_at_x";
    public const string Deleted = "deleted";
    public const string ReplyTo = "reply_to";
    public const string ThreadRoot = "thread_root";
    public const string Reactions = "reactions";
    public const string Mentions = "mentions";
    public const string SeqClaims = "seqs";
    public const string LastUpdateSeq = "useq";
    public const string PendingUpdate = "pu";
    public const string MessageId = "mid";
    public const string Change = "change";
    public const string MessageVersion = "mv";
    public const string At = "at";
    public const string AtExtra = "at_x";
}

/// <summary>A user in <c>{prefix}users</c>.</summary>
[BsonIgnoreExtraElements]
internal sealed class UserDocument
{
    [BsonId]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid Id { get; set; }

    [BsonElement("name")]
    public string UserName { get; set; } = "";

    /// <summary>The upper-invariant user name (<see cref="ChatUser.Normalize"/>): the unique key.</summary>
    [BsonElement(Fields.NormalizedUserName)]
    public string NormalizedUserName { get; set; } = "";

    [BsonElement("first")]
    public string? FirstName { get; set; }

    [BsonElement("last")]
    public string? LastName { get; set; }

    [BsonElement("pwd")]
    public string PasswordHash { get; set; } = "";

    [BsonElement("created")]
    public DateTime CreatedAt { get; set; }

    [BsonElement("created_x")]
    public long CreatedAtExtra { get; set; }

    [BsonElement("updated")]
    public DateTime UpdatedAt { get; set; }

    [BsonElement("updated_x")]
    public long UpdatedAtExtra { get; set; }

    [BsonElement(Fields.Version)]
    public long Version { get; set; }

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.ChangedAt)]
    public DateTime ChangedAt { get; set; }

    [BsonElement(Fields.ChangedAtExtra)]
    public long ChangedAtExtra { get; set; }

    public static UserDocument From(ChatUser user, long position, DateTimeOffset changedAt)
    {
        var (created, createdX) = Time.Split(user.CreatedAt);
        var (updated, updatedX) = Time.Split(user.UpdatedAt);
        var (changed, changedX) = Time.Split(changedAt);
        return new UserDocument
        {
            Id = user.Id,
            UserName = user.UserName,
            NormalizedUserName = user.NormalizedUserName,
            FirstName = user.FirstName,
            LastName = user.LastName,
            PasswordHash = user.PasswordHash,
            CreatedAt = created,
            CreatedAtExtra = createdX,
            UpdatedAt = updated,
            UpdatedAtExtra = updatedX,
            Version = user.Version,
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
    }

    public ChatUser ToModel() => new(
        Id, UserName, FirstName, LastName, PasswordHash, Time.Join(CreatedAt, CreatedAtExtra), Time.Join(UpdatedAt, UpdatedAtExtra), Version);

    public ChangeRecord ToChange() => ChangeRecord.ForUser(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());
}

/// <summary>A room in <c>{prefix}rooms</c>.</summary>
[BsonIgnoreExtraElements]
internal sealed class RoomDocument
{
    [BsonId]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid Id { get; set; }

    /// <summary>The lower-case slug: the unique key.</summary>
    [BsonElement(Fields.RoomName)]
    public string Name { get; set; } = "";

    [BsonElement("by")]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid? CreatedBy { get; set; }

    [BsonElement("created")]
    public DateTime CreatedAt { get; set; }

    [BsonElement("created_x")]
    public long CreatedAtExtra { get; set; }

    [BsonElement(Fields.Version)]
    public long Version { get; set; }

    /// <summary>The <see cref="ChitChat.RoomKind"/> as a number; absent in documents written before kinds existed, which read as public (0).</summary>
    [BsonElement(Fields.RoomKind)]
    public int Kind { get; set; }

    [BsonElement(Fields.Topic)]
    [BsonIgnoreIfNull]
    public string? Topic { get; set; }

    /// <summary>The compare-and-set token of the room's memberships (<see cref="ChatRoom.MembershipVersion"/>); absent means 0.</summary>
    [BsonElement(Fields.MembershipVersion)]
    public long MembershipVersion { get; set; }

    /// <summary>
    /// The membership writes of the last compare-and-set, present from the atomic update of this document until they are
    /// all stored in the memberships collection (the redo log of the single-document strategy, see <see cref="MongoChatStore"/>).
    /// Not part of the model and never replicated.
    /// </summary>
    [BsonElement(Fields.PendingMemberships)]
    [BsonIgnoreIfNull]
    public List<MembershipDocument>? PendingMemberships { get; set; }

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.ChangedAt)]
    public DateTime ChangedAt { get; set; }

    [BsonElement(Fields.ChangedAtExtra)]
    public long ChangedAtExtra { get; set; }

    public static RoomDocument From(ChatRoom room, long position, DateTimeOffset changedAt)
    {
        var (created, createdX) = Time.Split(room.CreatedAt);
        var (changed, changedX) = Time.Split(changedAt);
        return new RoomDocument
        {
            Id = room.Id,
            Name = room.Name,
            CreatedBy = room.CreatedBy,
            CreatedAt = created,
            CreatedAtExtra = createdX,
            Version = room.Version,
            Kind = (int)room.Kind,
            Topic = room.Topic,
            MembershipVersion = room.MembershipVersion,
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
    }

    public ChatRoom ToModel() => new(Id, Name, CreatedBy, Time.Join(CreatedAt, CreatedAtExtra), Version)
    {
        Kind = (RoomKind)Kind,
        Topic = Topic,
        MembershipVersion = MembershipVersion,
    };

    public ChangeRecord ToChange() => ChangeRecord.ForRoom(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());
}

/// <summary>A message in <c>{prefix}messages</c>, in its current state.</summary>
[BsonIgnoreExtraElements]
internal sealed class MessageDocument
{
    [BsonId]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid Id { get; set; }

    [BsonElement(Fields.Room)]
    public string Room { get; set; } = "";

    [BsonElement(Fields.Seq)]
    public long Seq { get; set; }

    [BsonElement(Fields.AuthorId)]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid AuthorId { get; set; }

    [BsonElement("author")]
    public string AuthorName { get; set; } = "";

    /// <summary>The current text (empty for a tombstone), indexed by the text index <c>tx_text</c>.</summary>
    [BsonElement(Fields.Text)]
    public string Text { get; set; } = "";

    [BsonElement(Fields.SentAt)]
    public DateTime SentAt { get; set; }

    [BsonElement(Fields.SentAtExtra)]
    public long SentAtExtra { get; set; }

    /// <summary>The idempotency key. Absent (not null) when there is none, so the partial unique index skips the document.</summary>
    [BsonElement(Fields.ClientMessageId)]
    [BsonIgnoreIfNull]
    public string? ClientMessageId { get; set; }

    [BsonElement(Fields.Version)]
    public long Version { get; set; }

    /// <summary>The surface the message came in through (<see cref="ChatMessage.Origin"/>). Absent for ChitChat's own API,
    /// so native messages (and every message written before the field existed) read back as <see langword="null"/>.</summary>
    [BsonElement(Fields.Origin)]
    [BsonIgnoreIfNull]
    public string? Origin { get; set; }

    /// <summary>When the text was last edited; absent until it is.</summary>
    [BsonElement(Fields.EditedAt)]
    [BsonIgnoreIfNull]
    public DateTime? EditedAt { get; set; }

    [BsonElement(Fields.EditedAtExtra)]
    [BsonIgnoreIfNull]
    public long? EditedAtExtra { get; set; }

    /// <summary>A tombstone; absent (false) for a live message, so documents written before deletes existed read as live.</summary>
    [BsonElement(Fields.Deleted)]
    [BsonIgnoreIfDefault]
    public bool Deleted { get; set; }

    [BsonElement(Fields.ReplyTo)]
    [BsonIgnoreIfNull]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid? ReplyTo { get; set; }

    /// <summary>The thread's root; absent for a message that is not a reply, so the partial thread index skips it.</summary>
    [BsonElement(Fields.ThreadRoot)]
    [BsonIgnoreIfNull]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid? ThreadRoot { get; set; }

    /// <summary>The reactions in the model's order; absent when there is none.</summary>
    [BsonElement(Fields.Reactions)]
    [BsonIgnoreIfNull]
    public List<ReactionDocument>? Reactions { get; set; }

    /// <summary>The mentioned users; absent when there is none, so the partial mentions index skips the document.</summary>
    [BsonElement(Fields.Mentions)]
    [BsonIgnoreIfNull]
    public List<BsonBinaryData>? Mentions { get; set; }

    /// <summary>
    /// Every number of the room's event sequence this message holds: its own <see cref="Seq"/> and the <c>seq</c> of each of its
    /// updates on this store. The unique multikey index <c>ux_room_seqs</c> on (room, seqs) makes appends and updates compete
    /// for the same numbers (see <see cref="MongoChatStore"/>). Not part of the model; a replicated copy holds its own seq only.
    /// </summary>
    [BsonElement(Fields.SeqClaims)]
    public List<long> SeqClaims { get; set; } = [];

    /// <summary>The highest update seq in <see cref="SeqClaims"/> (absent before the first update): with <see cref="Seq"/> and the
    /// update events, what the room's last seq is read from (index <c>ix_room_useq</c>).</summary>
    [BsonElement(Fields.LastUpdateSeq)]
    [BsonIgnoreIfNull]
    public long? LastUpdateSeq { get; set; }

    /// <summary>The redo log of the last update: present from the atomic change of this document until its update event is
    /// stored in <c>{prefix}message_updates</c>. Not part of the model and never replicated.</summary>
    [BsonElement(Fields.PendingUpdate)]
    [BsonIgnoreIfNull]
    public PendingUpdateDocument? PendingUpdate { get; set; }

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.ChangedAt)]
    public DateTime ChangedAt { get; set; }

    [BsonElement(Fields.ChangedAtExtra)]
    public long ChangedAtExtra { get; set; }

    public static MessageDocument From(ChatMessage message, long position, DateTimeOffset changedAt)
    {
        var (sent, sentX) = Time.Split(message.SentAt);
        var (changed, changedX) = Time.Split(changedAt);
        var document = new MessageDocument
        {
            Id = message.Id,
            Room = message.Room,
            Seq = message.Seq,
            AuthorId = message.AuthorId,
            AuthorName = message.AuthorName,
            Text = message.Text,
            SentAt = sent,
            SentAtExtra = sentX,
            ClientMessageId = message.ClientMessageId,
            Version = message.Version,
            Origin = message.Origin,
            Deleted = message.Deleted,
            ReplyTo = message.ReplyTo,
            ThreadRoot = message.ThreadRoot,
            Reactions = ReactionDocument.From(message.Reactions),
            Mentions = GuidList(message.Mentions),
            SeqClaims = [message.Seq],
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
        if (message.EditedAt is { } edited)
        {
            (var date, var extra) = Time.Split(edited);
            (document.EditedAt, document.EditedAtExtra) = (date, extra);
        }

        return document;
    }

    public ChatMessage ToModel() => new(Id, Room, Seq, AuthorId, AuthorName, Text, Time.Join(SentAt, SentAtExtra), ClientMessageId, Version)
    {
        Origin = Origin,
        EditedAt = EditedAt is { } edited ? Time.Join(edited, EditedAtExtra ?? 0) : null,
        Deleted = Deleted,
        ReplyTo = ReplyTo,
        ThreadRoot = ThreadRoot,
        Reactions = Reactions is { Count: > 0 } reactions ? reactions.ConvertAll(r => r.ToModel()) : [],
        Mentions = Mentions is { Count: > 0 } mentions ? mentions.ConvertAll(m => m.ToGuid(GuidRepresentation.Standard)) : [],
    };

    public ChangeRecord ToChange() => ChangeRecord.ForMessage(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());

    /// <summary>GUIDs as stored (binary subtype 4), or <see langword="null"/> for none (the element is then absent).</summary>
    public static List<BsonBinaryData>? GuidList(IReadOnlyList<Guid> ids) =>
        ids.Count == 0 ? null : ids.Select(MongoDefinitions.StoredGuid).ToList();
}

/// <summary>One emoji's reactions: <c>{e: emoji, u: [UUID, ...]}</c>.</summary>
[BsonIgnoreExtraElements]
internal sealed class ReactionDocument
{
    [BsonElement("e")]
    public string Emoji { get; set; } = "";

    [BsonElement("u")]
    public List<BsonBinaryData> UserIds { get; set; } = [];

    public static List<ReactionDocument>? From(IReadOnlyList<MessageReaction> reactions) =>
        reactions.Count == 0
            ? null
            : reactions.Select(r => new ReactionDocument { Emoji = r.Emoji, UserIds = r.UserIds.Select(MongoDefinitions.StoredGuid).ToList() }).ToList();

    public MessageReaction ToModel() => new(Emoji, UserIds.ConvertAll(u => u.ToGuid(GuidRepresentation.Standard)));
}

/// <summary>The redo log of a message's last update (<see cref="MessageDocument.PendingUpdate"/>): everything its update event holds.</summary>
[BsonIgnoreExtraElements]
internal sealed class PendingUpdateDocument
{
    [BsonElement("s")]
    public long Seq { get; set; }

    /// <summary>The <see cref="MessageChange"/> as a number.</summary>
    [BsonElement("c")]
    public int Change { get; set; }

    [BsonElement(Fields.MessageVersion)]
    public long MessageVersion { get; set; }

    [BsonElement(Fields.At)]
    public DateTime At { get; set; }

    [BsonElement(Fields.AtExtra)]
    public long AtExtra { get; set; }

    public static PendingUpdateDocument From(MessageUpdate update)
    {
        var (at, atX) = Time.Split(update.At);
        return new PendingUpdateDocument { Seq = update.Seq, Change = (int)update.Change, MessageVersion = update.MessageVersion, At = at, AtExtra = atX };
    }

    public MessageUpdate ToModel(string room, Guid messageId) => new(room, Seq, messageId, (MessageChange)Change, MessageVersion, Time.Join(At, AtExtra));
}

/// <summary>An update event in <c>{prefix}message_updates</c>, keyed by (room, seq): <c>_id</c> is <see cref="MessageUpdate.Id"/>. Immutable.</summary>
[BsonIgnoreExtraElements]
internal sealed class MessageUpdateDocument
{
    [BsonId]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid Id { get; set; }

    [BsonElement(Fields.Room)]
    public string Room { get; set; } = "";

    [BsonElement(Fields.Seq)]
    public long Seq { get; set; }

    [BsonElement(Fields.MessageId)]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid MessageId { get; set; }

    /// <summary>The <see cref="MessageChange"/> as a number (0 edited, 1 deleted, 2 reactions).</summary>
    [BsonElement(Fields.Change)]
    public int Change { get; set; }

    [BsonElement(Fields.MessageVersion)]
    public long MessageVersion { get; set; }

    [BsonElement(Fields.At)]
    public DateTime At { get; set; }

    [BsonElement(Fields.AtExtra)]
    public long AtExtra { get; set; }

    /// <summary>The document version: always 1 (<see cref="MessageUpdate.Version"/>).</summary>
    [BsonElement(Fields.Version)]
    public long Version { get; set; } = 1;

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.ChangedAt)]
    public DateTime ChangedAt { get; set; }

    [BsonElement(Fields.ChangedAtExtra)]
    public long ChangedAtExtra { get; set; }

    public static MessageUpdateDocument From(MessageUpdate update, long position, DateTimeOffset changedAt)
    {
        var (at, atX) = Time.Split(update.At);
        var (changed, changedX) = Time.Split(changedAt);
        return new MessageUpdateDocument
        {
            Id = update.Id,
            Room = update.Room,
            Seq = update.Seq,
            MessageId = update.MessageId,
            Change = (int)update.Change,
            MessageVersion = update.MessageVersion,
            At = at,
            AtExtra = atX,
            Version = update.Version,
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
    }

    public MessageUpdate ToModel() => new(Room, Seq, MessageId, (MessageChange)Change, MessageVersion, Time.Join(At, AtExtra));

    public ChangeRecord ToChange() => ChangeRecord.ForUpdate(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());
}

/// <summary>A read marker in <c>{prefix}read_markers</c>; <c>_id</c> is <see cref="ReadMarker.Id"/> (derived from room and user).</summary>
[BsonIgnoreExtraElements]
internal sealed class ReadMarkerDocument
{
    [BsonId]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid Id { get; set; }

    [BsonElement(Fields.Room)]
    public string Room { get; set; } = "";

    [BsonElement(Fields.UserId)]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid UserId { get; set; }

    /// <summary>The last read seq; only ever raised (<c>$max</c>).</summary>
    [BsonElement(Fields.Seq)]
    public long Seq { get; set; }

    [BsonElement(Fields.At)]
    public DateTime UpdatedAt { get; set; }

    [BsonElement(Fields.AtExtra)]
    public long UpdatedAtExtra { get; set; }

    /// <summary>The document version, equal to <see cref="Seq"/> (<see cref="ReadMarker.Version"/>): replication's "higher version wins" keeps the furthest marker.</summary>
    [BsonElement(Fields.Version)]
    public long Version { get; set; }

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.ChangedAt)]
    public DateTime ChangedAt { get; set; }

    [BsonElement(Fields.ChangedAtExtra)]
    public long ChangedAtExtra { get; set; }

    public static ReadMarkerDocument From(ReadMarker marker, long position, DateTimeOffset changedAt)
    {
        var (at, atX) = Time.Split(marker.UpdatedAt);
        var (changed, changedX) = Time.Split(changedAt);
        return new ReadMarkerDocument
        {
            Id = marker.Id,
            Room = marker.Room,
            UserId = marker.UserId,
            Seq = marker.Seq,
            UpdatedAt = at,
            UpdatedAtExtra = atX,
            Version = marker.Version,
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
    }

    public ReadMarker ToModel() => new(Room, UserId, Seq, Time.Join(UpdatedAt, UpdatedAtExtra));

    public ChangeRecord ToChange() => ChangeRecord.ForReadMarker(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());
}

/// <summary>A membership in <c>{prefix}memberships</c>; <c>_id</c> is <see cref="RoomMembership.Id"/> (derived from room and user).</summary>
[BsonIgnoreExtraElements]
internal sealed class MembershipDocument
{
    [BsonId]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid Id { get; set; }

    [BsonElement(Fields.Room)]
    public string Room { get; set; } = "";

    [BsonElement(Fields.UserId)]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid UserId { get; set; }

    [BsonElement(Fields.MemberName)]
    public string UserName { get; set; } = "";

    /// <summary>The <see cref="MembershipState"/> as a number (0 member, 1 left, 2 removed, 3 banned).</summary>
    [BsonElement(Fields.State)]
    public int State { get; set; }

    /// <summary>The <see cref="MemberRole"/> as a number (0 member, 1 moderator, 2 owner).</summary>
    [BsonElement(Fields.Role)]
    public int Role { get; set; }

    [BsonElement("muted")]
    [BsonIgnoreIfNull]
    public DateTime? MutedUntil { get; set; }

    [BsonElement("muted_x")]
    [BsonIgnoreIfNull]
    public long? MutedUntilExtra { get; set; }

    /// <summary>The end of a ban; <see langword="null"/> (stored as BSON null, so that <c>{banned: null}</c> finds permanent bans) when permanent or not banned.</summary>
    [BsonElement(Fields.BannedUntil)]
    public DateTime? BannedUntil { get; set; }

    [BsonElement("banned_x")]
    [BsonIgnoreIfNull]
    public long? BannedUntilExtra { get; set; }

    [BsonElement("reason")]
    [BsonIgnoreIfNull]
    public string? BanReason { get; set; }

    [BsonElement("updated")]
    public DateTime UpdatedAt { get; set; }

    [BsonElement("updated_x")]
    public long UpdatedAtExtra { get; set; }

    [BsonElement(Fields.Version)]
    public long Version { get; set; }

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.ChangedAt)]
    public DateTime ChangedAt { get; set; }

    [BsonElement(Fields.ChangedAtExtra)]
    public long ChangedAtExtra { get; set; }

    public static MembershipDocument From(RoomMembership membership, long position, DateTimeOffset changedAt)
    {
        var (updated, updatedX) = Time.Split(membership.UpdatedAt);
        var (changed, changedX) = Time.Split(changedAt);
        var document = new MembershipDocument
        {
            Id = membership.Id,
            Room = membership.Room,
            UserId = membership.UserId,
            UserName = membership.UserName,
            State = (int)membership.State,
            Role = (int)membership.Role,
            BanReason = membership.BanReason,
            UpdatedAt = updated,
            UpdatedAtExtra = updatedX,
            Version = membership.Version,
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
        if (membership.MutedUntil is { } muted)
        {
            (var date, var extra) = Time.Split(muted);
            (document.MutedUntil, document.MutedUntilExtra) = (date, extra);
        }

        if (membership.BannedUntil is { } banned)
        {
            (var date, var extra) = Time.Split(banned);
            (document.BannedUntil, document.BannedUntilExtra) = (date, extra);
        }

        return document;
    }

    public RoomMembership ToModel() => new(
        Room,
        UserId,
        UserName,
        (MembershipState)State,
        (MemberRole)Role,
        MutedUntil is { } muted ? Time.Join(muted, MutedUntilExtra ?? 0) : null,
        BannedUntil is { } banned ? Time.Join(banned, BannedUntilExtra ?? 0) : null,
        BanReason,
        Time.Join(UpdatedAt, UpdatedAtExtra),
        Version);

    public ChangeRecord ToChange() => ChangeRecord.ForMembership(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());
}

/// <summary>A replica's checkpoint for one source in <c>{prefix}checkpoints</c>.</summary>
[BsonIgnoreExtraElements]
internal sealed class CheckpointDocument
{
    [BsonId]
    public string SourceId { get; set; } = "";

    [BsonElement(Fields.Position)]
    public long Position { get; set; }

    [BsonElement(Fields.Fence)]
    public long FencingToken { get; set; }

    [BsonElement("updated")]
    public DateTime UpdatedAt { get; set; }

    [BsonElement("updated_x")]
    public long UpdatedAtExtra { get; set; }

    public ReplicaCheckpoint ToModel() => new(SourceId, Position, FencingToken, Time.Join(UpdatedAt, UpdatedAtExtra));
}

/// <summary>
/// The change-feed position counter in <c>{prefix}counters</c> (<c>_id: "changes"</c>): <c>v</c> is the last reserved
/// position and <c>pending</c> lists the reservations whose writes have not finished yet (see <see cref="MongoChatStore"/>).
/// </summary>
[BsonIgnoreExtraElements]
internal sealed class CounterDocument
{
    [BsonId]
    public string Id { get; set; } = "";

    [BsonElement(Fields.CounterValue)]
    public long Value { get; set; }

    [BsonElement(Fields.Pending)]
    [BsonIgnoreIfNull]
    public List<PendingReservation>? Pending { get; set; }
}

/// <summary>A reserved, not yet committed block of positions starting at <see cref="First"/>, reserved at server time <see cref="ReservedAt"/>.</summary>
[BsonIgnoreExtraElements]
internal sealed class PendingReservation
{
    [BsonElement("p")]
    public long First { get; set; }

    [BsonElement("t")]
    public DateTime ReservedAt { get; set; }
}

/// <summary>Splits a <see cref="DateTimeOffset"/> into a millisecond BSON date and the remaining ticks, and back.</summary>
internal static class Time
{
    public static (DateTime Date, long ExtraTicks) Split(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        var extra = ticks % TimeSpan.TicksPerMillisecond;
        return (new DateTime(ticks - extra, DateTimeKind.Utc), extra);
    }

    public static DateTimeOffset Join(DateTime date, long extraTicks)
    {
        var utc = date.Kind == DateTimeKind.Local ? date.ToUniversalTime() : date;
        return new DateTimeOffset(utc.Ticks + extraTicks, TimeSpan.Zero);
    }
}
