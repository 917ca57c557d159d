using MessagePack;

namespace ChitChat.AspNetCore.Http;

/// <summary>The body of <c>POST /api/auth/register</c>.</summary>
/// <param name="UserName">The user name.</param>
/// <param name="Password">The password.</param>
/// <param name="FirstName">The optional first name.</param>
/// <param name="LastName">The optional last name.</param>
public sealed record RegisterBody(string? UserName, string? Password, string? FirstName = null, string? LastName = null);

/// <summary>The body of <c>POST /api/auth/login</c>.</summary>
/// <param name="UserName">The user name.</param>
/// <param name="Password">The password.</param>
public sealed record LoginBody(string? UserName, string? Password);

/// <summary>A user as the API shows it.</summary>
/// <param name="Id">The user id.</param>
/// <param name="UserName">The user name.</param>
public sealed record UserDto(Guid Id, string UserName);

/// <summary>The response of <c>POST /api/auth/login</c>.</summary>
/// <param name="AccessToken">The bearer token.</param>
/// <param name="ExpiresAt">When it expires (UTC).</param>
/// <param name="User">The user.</param>
public sealed record LoginResponse(string AccessToken, DateTime ExpiresAt, UserDto User);

/// <summary>The body of <c>POST /api/rooms</c>.</summary>
/// <param name="Name">The room name (a slug).</param>
public sealed record CreateRoomBody(string? Name);

/// <summary>A room as the API shows it.</summary>
/// <param name="Id">The room id.</param>
/// <param name="Name">The room name.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
public sealed record RoomDto(Guid Id, string Name, DateTime CreatedAt)
{
    /// <summary>Creates the DTO of a room.</summary>
    /// <param name="room">The room.</param>
    /// <returns>The DTO.</returns>
    public static RoomDto From(ChatRoom room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return new(room.Id, room.Name, room.CreatedAt.UtcDateTime);
    }
}

/// <summary>The body of <c>POST /api/rooms/{room}/messages</c>.</summary>
/// <param name="Text">The text.</param>
/// <param name="ClientMessageId">The optional idempotency key.</param>
public sealed record SendMessageBody(string? Text, string? ClientMessageId = null);

/// <summary>A message on the wire (HTTP and hub), exactly as the protocol defines it.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The per-room sequence number.</param>
/// <param name="AuthorId">The author's user id (from the authenticated identity).</param>
/// <param name="AuthorName">The author's user name (from the authenticated identity).</param>
/// <param name="Text">The text.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
/// <param name="ClientMessageId">The client's idempotency key, or <see langword="null"/>.</param>
[MessagePackObject]
public sealed record MessageDto([property: Key("id")] Guid Id, [property: Key("room")] string Room, [property: Key("seq")] long Seq, [property: Key("authorId")] Guid AuthorId, [property: Key("authorName")] string AuthorName, [property: Key("text")] string Text, [property: Key("sentAt")] DateTime SentAt, [property: Key("clientMessageId")] string? ClientMessageId)
{
    /// <summary>Creates the DTO of a message.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The DTO.</returns>
    public static MessageDto From(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(message.Id, message.Room, message.Seq, message.AuthorId, message.AuthorName, message.Text, message.SentAt.UtcDateTime, message.ClientMessageId);
    }
}
