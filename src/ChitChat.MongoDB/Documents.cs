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

/// <summary>A message in <c>{prefix}messages</c>.</summary>
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

    [BsonElement("author_id")]
    [BsonGuidRepresentation(GuidRepresentation.Standard)]
    public Guid AuthorId { get; set; }

    [BsonElement("author")]
    public string AuthorName { get; set; } = "";

    [BsonElement("text")]
    public string Text { get; set; } = "";

    [BsonElement("sent")]
    public DateTime SentAt { get; set; }

    [BsonElement("sent_x")]
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
        return new MessageDocument
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
            Position = position,
            ChangedAt = changed,
            ChangedAtExtra = changedX,
        };
    }

    public ChatMessage ToModel() => new(Id, Room, Seq, AuthorId, AuthorName, Text, Time.Join(SentAt, SentAtExtra), ClientMessageId, Version) { Origin = Origin };

    public ChangeRecord ToChange() => ChangeRecord.ForMessage(Position, Time.Join(ChangedAt, ChangedAtExtra), ToModel());
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
