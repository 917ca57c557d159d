using ChitChat.AspNetCore.Http;
using MessagePack;

namespace ChitChat.AspNetCore.Hubs;

/// <summary>The result of <c>JoinRoom</c>.</summary>
/// <param name="Room">The room name (normalized).</param>
/// <param name="LastSeq">The boundary: every message up to it is in <paramref name="Missed"/> or older history; every later one arrives live.</param>
/// <param name="Missed">The missed messages, ascending by seq.</param>
/// <param name="HasMore"><see langword="true"/> when more messages exist than were returned (page them with <c>GetHistory</c>).</param>
[MessagePackObject]
public sealed record JoinRoomResult([property: Key("room")] string Room, [property: Key("lastSeq")] long LastSeq, [property: Key("missed")] IReadOnlyList<MessageDto> Missed, [property: Key("hasMore")] bool HasMore);

/// <summary>The acknowledgement of <c>SendMessage</c>.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Seq">The sequence number.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
[MessagePackObject]
public sealed record SendMessageAck([property: Key("id")] Guid Id, [property: Key("seq")] long Seq, [property: Key("sentAt")] DateTime SentAt);

/// <summary>A user online in a room.</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
[MessagePackObject]
public sealed record PresenceUser([property: Key("userId")] Guid UserId, [property: Key("userName")] string UserName);

/// <summary>The <c>presence</c> event.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="Online"><see langword="true"/> when the user came online in the room.</param>
[MessagePackObject]
public sealed record PresenceEvent([property: Key("room")] string Room, [property: Key("userId")] Guid UserId, [property: Key("userName")] string UserName, [property: Key("online")] bool Online);

/// <summary>The <c>typing</c> event.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
[MessagePackObject]
public sealed record TypingEvent([property: Key("room")] string Room, [property: Key("userId")] Guid UserId, [property: Key("userName")] string UserName);
