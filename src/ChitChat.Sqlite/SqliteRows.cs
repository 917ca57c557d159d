using System.Globalization;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>Column lists and row mapping. Ids are stored as lower-case "D" strings (their text order is <see cref="Guid.CompareTo(Guid)"/> order), times as UTC ticks.</summary>
internal static class SqliteRows
{
    public const string UserColumns = "id, user_name, first_name, last_name, password_hash, created_at, updated_at, version, position, changed_at";
    public const string RoomColumns = "id, name, created_by, created_at, version, position, changed_at";
    public const string MessageColumns = "id, room, seq, author_id, author_name, text, sent_at, client_message_id, version, position, changed_at";

    public static string Id(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    public static long Ticks(DateTimeOffset value) => value.UtcTicks;

    public static ChatUser ReadUser(SqliteDataReader r) => new(
        Guid.Parse(r.GetString(0)),
        r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.GetString(4),
        Time(r.GetInt64(5)),
        Time(r.GetInt64(6)),
        r.GetInt64(7));

    public static ChangeRecord ReadUserChange(SqliteDataReader r) => ChangeRecord.ForUser(r.GetInt64(8), Time(r.GetInt64(9)), ReadUser(r));

    public static ChatRoom ReadRoom(SqliteDataReader r) => new(
        Guid.Parse(r.GetString(0)),
        r.GetString(1),
        r.IsDBNull(2) ? null : Guid.Parse(r.GetString(2)),
        Time(r.GetInt64(3)),
        r.GetInt64(4));

    public static ChangeRecord ReadRoomChange(SqliteDataReader r) => ChangeRecord.ForRoom(r.GetInt64(5), Time(r.GetInt64(6)), ReadRoom(r));

    public static ChatMessage ReadMessage(SqliteDataReader r) => new(
        Guid.Parse(r.GetString(0)),
        r.GetString(1),
        r.GetInt64(2),
        Guid.Parse(r.GetString(3)),
        r.GetString(4),
        r.GetString(5),
        Time(r.GetInt64(6)),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.GetInt64(8));

    public static ChangeRecord ReadMessageChange(SqliteDataReader r) => ChangeRecord.ForMessage(r.GetInt64(9), Time(r.GetInt64(10)), ReadMessage(r));

    public static void BindUser(SqliteCommand c, ChatUser u, long position, DateTimeOffset changedAt)
    {
        c.Parameters.Clear();
        c.Parameters.AddWithValue("$id", Id(u.Id));
        c.Parameters.AddWithValue("$user_name", u.UserName);
        c.Parameters.AddWithValue("$normalized_user_name", u.NormalizedUserName);
        c.Parameters.AddWithValue("$first_name", (object?)u.FirstName ?? DBNull.Value);
        c.Parameters.AddWithValue("$last_name", (object?)u.LastName ?? DBNull.Value);
        c.Parameters.AddWithValue("$password_hash", u.PasswordHash);
        c.Parameters.AddWithValue("$created_at", Ticks(u.CreatedAt));
        c.Parameters.AddWithValue("$updated_at", Ticks(u.UpdatedAt));
        c.Parameters.AddWithValue("$version", u.Version);
        c.Parameters.AddWithValue("$position", position);
        c.Parameters.AddWithValue("$changed_at", Ticks(changedAt));
    }

    public static void BindRoom(SqliteCommand c, ChatRoom room, long position, DateTimeOffset changedAt)
    {
        c.Parameters.Clear();
        c.Parameters.AddWithValue("$id", Id(room.Id));
        c.Parameters.AddWithValue("$name", room.Name);
        c.Parameters.AddWithValue("$created_by", room.CreatedBy is { } by ? Id(by) : DBNull.Value);
        c.Parameters.AddWithValue("$created_at", Ticks(room.CreatedAt));
        c.Parameters.AddWithValue("$version", room.Version);
        c.Parameters.AddWithValue("$position", position);
        c.Parameters.AddWithValue("$changed_at", Ticks(changedAt));
    }

    public static void BindMessage(SqliteCommand c, ChatMessage m, long position, DateTimeOffset changedAt)
    {
        c.Parameters.Clear();
        c.Parameters.AddWithValue("$id", Id(m.Id));
        c.Parameters.AddWithValue("$room", m.Room);
        c.Parameters.AddWithValue("$seq", m.Seq);
        c.Parameters.AddWithValue("$author_id", Id(m.AuthorId));
        c.Parameters.AddWithValue("$author_name", m.AuthorName);
        c.Parameters.AddWithValue("$text", m.Text);
        c.Parameters.AddWithValue("$sent_at", Ticks(m.SentAt));
        c.Parameters.AddWithValue("$client_message_id", (object?)m.ClientMessageId ?? DBNull.Value);
        c.Parameters.AddWithValue("$version", m.Version);
        c.Parameters.AddWithValue("$position", position);
        c.Parameters.AddWithValue("$changed_at", Ticks(changedAt));
    }

    private static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
