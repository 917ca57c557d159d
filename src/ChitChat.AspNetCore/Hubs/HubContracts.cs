using ChitChat.AspNetCore.Http;

namespace ChitChat.AspNetCore.Hubs;

/// <summary>The result of <c>JoinRoom</c>.</summary>
/// <param name="Room">The room name (normalized).</param>
/// <param name="LastSeq">The boundary: every message up to it is in <paramref name="Missed"/> or older history; every later one arrives live.</param>
/// <param name="Missed">The missed messages, ascending by seq.</param>
/// <param name="HasMore"><see langword="true"/> when more messages exist than were returned (page them with <c>GetHistory</c>).</param>
public sealed record JoinRoomResult(string Room, long LastSeq, IReadOnlyList<MessageDto> Missed, bool HasMore);

/// <summary>The acknowledgement of <c>SendMessage</c>.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Seq">The sequence number.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
public sealed record SendMessageAck(Guid Id, long Seq, DateTime SentAt);

/// <summary>A user online in a room.</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
public sealed record PresenceUser(Guid UserId, string UserName);

/// <summary>The <c>presence</c> event.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="Online"><see langword="true"/> when the user came online in the room.</param>
public sealed record PresenceEvent(string Room, Guid UserId, string UserName, bool Online);

/// <summary>The <c>typing</c> event.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
public sealed record TypingEvent(string Room, Guid UserId, string UserName);
