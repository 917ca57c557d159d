using System.Runtime.Serialization;

namespace ChitChat.Contracts;

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
[DataContract]
public sealed record MessageDto(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "seq")] long Seq,
    [property: DataMember(Name = "authorId")] Guid AuthorId,
    [property: DataMember(Name = "authorName")] string AuthorName,
    [property: DataMember(Name = "text")] string Text,
    [property: DataMember(Name = "sentAt")] DateTime SentAt,
    [property: DataMember(Name = "clientMessageId")] string? ClientMessageId);

/// <summary>The result of the hub's <c>JoinRoom</c>.</summary>
/// <param name="Room">The room name (normalized).</param>
/// <param name="LastSeq">The boundary: every message up to it is in <paramref name="Missed"/> or older history; every later one arrives live.</param>
/// <param name="Missed">The missed messages, ascending by seq.</param>
/// <param name="HasMore"><see langword="true"/> when more messages exist than were returned (page them with <c>GetHistory</c>).</param>
[DataContract]
public sealed record JoinRoomResult(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "lastSeq")] long LastSeq,
    [property: DataMember(Name = "missed")] IReadOnlyList<MessageDto> Missed,
    [property: DataMember(Name = "hasMore")] bool HasMore);

/// <summary>The acknowledgement of the hub's <c>SendMessage</c>.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Seq">The sequence number.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
[DataContract]
public sealed record SendMessageAck(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "seq")] long Seq,
    [property: DataMember(Name = "sentAt")] DateTime SentAt);
