using System.Globalization;
using System.Text.Json;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>The column maps of the three aggregates, and the stored forms of ids and times: ids are lower-case "D"
/// strings (their text order is <see cref="Guid.CompareTo(Guid)"/> order), times UTC ticks.</summary>
internal static class SqliteRows
{
    // Each aggregate's columns are declared once, in reading order; static initializers run in textual order, so every
    // ordinal is assigned before the table that reads with it is built.
    private static readonly SqliteTable<ChatUser>.Builder UserMap = SqliteTable<ChatUser>.Define("users")
        .Stored("normalized_user_name", u => u.NormalizedUserName); // for its unique index; reads derive it from the name
    private static readonly int UserId = UserMap.Column("id", u => Id(u.Id));
    private static readonly int UserName = UserMap.Column("user_name", u => u.UserName);
    private static readonly int UserFirstName = UserMap.Column("first_name", u => u.FirstName);
    private static readonly int UserLastName = UserMap.Column("last_name", u => u.LastName);
    private static readonly int UserPasswordHash = UserMap.Column("password_hash", u => u.PasswordHash);
    private static readonly int UserCreatedAt = UserMap.Column("created_at", u => Ticks(u.CreatedAt));
    private static readonly int UserUpdatedAt = UserMap.Column("updated_at", u => Ticks(u.UpdatedAt));
    private static readonly int UserVersion = UserMap.Column("version", u => u.Version);

    /// <summary>The <c>users</c> table.</summary>
    public static readonly SqliteTable<ChatUser> Users = UserMap.Build(
        r => new ChatUser(
            Guid.Parse(r.GetString(UserId)),
            r.GetString(UserName),
            NullableString(r, UserFirstName),
            NullableString(r, UserLastName),
            r.GetString(UserPasswordHash),
            Time(r.GetInt64(UserCreatedAt)),
            Time(r.GetInt64(UserUpdatedAt)),
            r.GetInt64(UserVersion)),
        ChangeRecord.ForUser);

    private static readonly SqliteTable<ChatRoom>.Builder RoomMap = SqliteTable<ChatRoom>.Define("rooms");
    private static readonly int RoomId = RoomMap.Column("id", r => Id(r.Id));
    private static readonly int RoomName = RoomMap.Column("name", r => r.Name);
    private static readonly int RoomCreatedBy = RoomMap.Column("created_by", r => r.CreatedBy is { } by ? Id(by) : null);
    private static readonly int RoomCreatedAt = RoomMap.Column("created_at", r => Ticks(r.CreatedAt));
    private static readonly int RoomVersion = RoomMap.Column("version", r => r.Version);
    private static readonly int RoomKindColumn = RoomMap.Column("kind", r => (long)r.Kind); // schema version 3
    private static readonly int RoomTopic = RoomMap.Column("topic", r => r.Topic);
    private static readonly int RoomMembershipVersion = RoomMap.Column("membership_version", r => r.MembershipVersion);

    /// <summary>The <c>rooms</c> table.</summary>
    public static readonly SqliteTable<ChatRoom> Rooms = RoomMap.Build(
        r => new ChatRoom(
            Guid.Parse(r.GetString(RoomId)),
            r.GetString(RoomName),
            r.IsDBNull(RoomCreatedBy) ? null : Guid.Parse(r.GetString(RoomCreatedBy)),
            Time(r.GetInt64(RoomCreatedAt)),
            r.GetInt64(RoomVersion))
        {
            Kind = (RoomKind)r.GetInt64(RoomKindColumn),
            Topic = NullableString(r, RoomTopic),
            MembershipVersion = r.GetInt64(RoomMembershipVersion),
        },
        ChangeRecord.ForRoom);

    private static readonly SqliteTable<RoomMembership>.Builder MembershipMap = SqliteTable<RoomMembership>.Define("memberships", "room, user_id");
    private static readonly int MembershipRoom = MembershipMap.Column("room", m => m.Room);
    private static readonly int MembershipUserId = MembershipMap.Column("user_id", m => Id(m.UserId));
    private static readonly int MembershipUserName = MembershipMap.Column("user_name", m => m.UserName);
    private static readonly int MembershipState = MembershipMap.Column("state", m => (long)m.State);
    private static readonly int MembershipRole = MembershipMap.Column("role", m => (long)m.Role);
    private static readonly int MembershipMutedUntil = MembershipMap.Column("muted_until", m => m.MutedUntil is { } t ? Ticks(t) : null);
    private static readonly int MembershipBannedUntil = MembershipMap.Column("banned_until", m => m.BannedUntil is { } t ? Ticks(t) : null);
    private static readonly int MembershipBanReason = MembershipMap.Column("ban_reason", m => m.BanReason);
    private static readonly int MembershipUpdatedAt = MembershipMap.Column("updated_at", m => Ticks(m.UpdatedAt));
    private static readonly int MembershipVersion = MembershipMap.Column("version", m => m.Version);

    /// <summary>The <c>memberships</c> table (schema version 3), keyed by (room, user_id).</summary>
    public static readonly SqliteTable<RoomMembership> Memberships = MembershipMap.Build(
        r => new RoomMembership(
            r.GetString(MembershipRoom),
            Guid.Parse(r.GetString(MembershipUserId)),
            r.GetString(MembershipUserName),
            (MembershipState)r.GetInt64(MembershipState),
            (MemberRole)r.GetInt64(MembershipRole),
            NullableTime(r, MembershipMutedUntil),
            NullableTime(r, MembershipBannedUntil),
            NullableString(r, MembershipBanReason),
            Time(r.GetInt64(MembershipUpdatedAt)),
            r.GetInt64(MembershipVersion)),
        ChangeRecord.ForMembership);

    private static readonly SqliteTable<ChatMessage>.Builder MessageMap = SqliteTable<ChatMessage>.Define("messages");
    private static readonly int MessageId = MessageMap.Column("id", m => Id(m.Id));
    private static readonly int MessageRoom = MessageMap.Column("room", m => m.Room);
    private static readonly int MessageSeq = MessageMap.Column("seq", m => m.Seq);
    private static readonly int MessageAuthorId = MessageMap.Column("author_id", m => Id(m.AuthorId));
    private static readonly int MessageAuthorName = MessageMap.Column("author_name", m => m.AuthorName);
    private static readonly int MessageText = MessageMap.Column("text", m => m.Text);
    private static readonly int MessageSentAt = MessageMap.Column("sent_at", m => Ticks(m.SentAt));
    private static readonly int MessageClientMessageId = MessageMap.Column("client_message_id", m => m.ClientMessageId);
    private static readonly int MessageVersion = MessageMap.Column("version", m => m.Version);
    private static readonly int MessageOrigin = MessageMap.Column("origin", m => m.Origin); // schema version 2
    private static readonly int MessageEditedAt = MessageMap.Column("edited_at", m => m.EditedAt is { } t ? Ticks(t) : null); // schema version 4
    private static readonly int MessageDeleted = MessageMap.Column("deleted", m => m.Deleted ? 1L : 0L);
    private static readonly int MessageReplyTo = MessageMap.Column("reply_to", m => m.ReplyTo is { } id ? Id(id) : null);
    private static readonly int MessageThreadRoot = MessageMap.Column("thread_root", m => m.ThreadRoot is { } id ? Id(id) : null);
    private static readonly int MessageReactions = MessageMap.Column("reactions", m => ReactionsJson(m.Reactions));
    private static readonly int MessageMentions = MessageMap.Column("mentions", m => IdsJson(m.Mentions));

    /// <summary>The <c>messages</c> table.</summary>
    public static readonly SqliteTable<ChatMessage> Messages = MessageMap.Build(
        r => new ChatMessage(
            Guid.Parse(r.GetString(MessageId)),
            r.GetString(MessageRoom),
            r.GetInt64(MessageSeq),
            Guid.Parse(r.GetString(MessageAuthorId)),
            r.GetString(MessageAuthorName),
            r.GetString(MessageText),
            Time(r.GetInt64(MessageSentAt)),
            NullableString(r, MessageClientMessageId),
            r.GetInt64(MessageVersion))
        {
            Origin = NullableString(r, MessageOrigin),
            EditedAt = NullableTime(r, MessageEditedAt),
            Deleted = r.GetInt64(MessageDeleted) != 0,
            ReplyTo = r.IsDBNull(MessageReplyTo) ? null : Guid.Parse(r.GetString(MessageReplyTo)),
            ThreadRoot = r.IsDBNull(MessageThreadRoot) ? null : Guid.Parse(r.GetString(MessageThreadRoot)),
            Reactions = r.IsDBNull(MessageReactions) ? [] : ParseReactions(r.GetString(MessageReactions)),
            Mentions = r.IsDBNull(MessageMentions) ? [] : ParseIds(r.GetString(MessageMentions)),
        },
        ChangeRecord.ForMessage);

    /// <summary>The <c>reactions</c> column: <c>[{"e": emoji, "u": [user ids]}]</c>, or <see langword="null"/> when there is none.</summary>
    public static string? ReactionsJson(IReadOnlyList<MessageReaction> reactions)
    {
        if (reactions.Count == 0)
        {
            return null;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var reaction in reactions)
            {
                json.WriteStartObject();
                json.WriteString("e", reaction.Emoji);
                json.WriteStartArray("u");
                foreach (var user in reaction.UserIds)
                {
                    json.WriteStringValue(Id(user));
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The <c>mentions</c> column: a JSON array of user ids (the triggers read it with <c>json_each</c>), or <see langword="null"/> when empty.</summary>
    public static string? IdsJson(IReadOnlyList<Guid> ids)
    {
        if (ids.Count == 0)
        {
            return null;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var id in ids)
            {
                json.WriteStringValue(Id(id));
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static MessageReaction[] ParseReactions(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray()
            .Select(e => new MessageReaction(e.GetProperty("e").GetString()!, e.GetProperty("u").EnumerateArray().Select(u => Guid.Parse(u.GetString()!)).ToArray()))
            .ToArray();
    }

    private static Guid[] ParseIds(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(u => Guid.Parse(u.GetString()!)).ToArray();
    }

    /// <summary>The columns of <c>message_updates</c> in reading order.</summary>
    public const string UpdateColumns = "room, seq, message_id, change, message_version, at, position, changed_at";

    /// <summary>Reads a row of <see cref="UpdateColumns"/>.</summary>
    public static MessageUpdate ReadUpdate(SqliteDataReader r, int at = 0) =>
        new(r.GetString(at), r.GetInt64(at + 1), Guid.Parse(r.GetString(at + 2)), (MessageChange)r.GetInt64(at + 3), r.GetInt64(at + 4), Time(r.GetInt64(at + 5)));

    /// <summary>Reads a row of <see cref="UpdateColumns"/> as a change.</summary>
    public static ChangeRecord ReadUpdateChange(SqliteDataReader r) => ChangeRecord.ForUpdate(r.GetInt64(6), Time(r.GetInt64(7)), ReadUpdate(r));

    /// <summary>The columns of <c>read_markers</c> in reading order.</summary>
    public const string MarkerColumns = "room, user_id, seq, updated_at, position, changed_at";

    /// <summary>Reads a row of <see cref="MarkerColumns"/>.</summary>
    public static ReadMarker ReadMarker(SqliteDataReader r) =>
        new(r.GetString(0), Guid.Parse(r.GetString(1)), r.GetInt64(2), Time(r.GetInt64(3)));

    /// <summary>Reads a row of <see cref="MarkerColumns"/> as a change.</summary>
    public static ChangeRecord ReadMarkerChange(SqliteDataReader r) => ChangeRecord.ForReadMarker(r.GetInt64(4), Time(r.GetInt64(5)), ReadMarker(r));

    public static string Id(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    public static long Ticks(DateTimeOffset value) => value.UtcTicks;

    public static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);

    private static string? NullableString(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    private static DateTimeOffset? NullableTime(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : Time(r.GetInt64(ordinal));
}
