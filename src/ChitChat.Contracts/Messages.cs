using System.Runtime.Serialization;

namespace ChitChat.Contracts;

/// <summary>The body of <c>POST /api/rooms/{room}/messages</c>.</summary>
/// <param name="Text">The text.</param>
/// <param name="ClientMessageId">The optional idempotency key.</param>
/// <param name="ReplyTo">The id of the message of the same room this one answers, or <see langword="null"/>.</param>
public sealed record SendMessageBody(string? Text, string? ClientMessageId = null, Guid? ReplyTo = null);

/// <summary>The body of <c>PATCH /api/rooms/{room}/messages/{id}</c>.</summary>
/// <param name="Text">The new text.</param>
public sealed record EditMessageBody(string? Text);

/// <summary>The body of <c>PUT /api/rooms/{room}/read</c>.</summary>
/// <param name="Seq">The last <c>seq</c> read (clamped to the room's last one; a lower one than the marker changes nothing).</param>
public sealed record MarkReadBody(long? Seq);

/// <summary>A message on the wire (HTTP and hub), exactly as the protocol defines it.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The per-room sequence number.</param>
/// <param name="AuthorId">The author's user id (from the authenticated identity).</param>
/// <param name="AuthorName">The author's user name (from the authenticated identity).</param>
/// <param name="Text">The text.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
/// <param name="ClientMessageId">The client's idempotency key, or <see langword="null"/>.</param>
/// <remarks>The members of protocol version 2 (<see cref="EditedAt"/> to <see cref="Mentions"/>) are init properties, so that
/// version 1 code that constructs a message keeps compiling; they are on the wire like the others.</remarks>
[DataContract]
public sealed record MessageDto(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "seq")] long Seq,
    [property: DataMember(Name = "authorId")] Guid AuthorId,
    [property: DataMember(Name = "authorName")] string AuthorName,
    [property: DataMember(Name = "text")] string Text,
    [property: DataMember(Name = "sentAt")] DateTime SentAt,
    [property: DataMember(Name = "clientMessageId")] string? ClientMessageId)
{
    /// <summary>Gets when the text was last edited (UTC), or <see langword="null"/> when it never was.</summary>
    [DataMember(Name = "editedAt")]
    public DateTime? EditedAt { get; init; }

    /// <summary>Gets whether the message was deleted (then <see cref="Text"/> is empty and the message keeps its place).</summary>
    [DataMember(Name = "deleted")]
    public bool Deleted { get; init; }

    /// <summary>Gets the id of the message this one answers, or <see langword="null"/>.</summary>
    [DataMember(Name = "replyTo")]
    public Guid? ReplyTo { get; init; }

    /// <summary>Gets the id of the first message of this one's thread, or <see langword="null"/> when it is no reply.</summary>
    [DataMember(Name = "threadRoot")]
    public Guid? ThreadRoot { get; init; }

    /// <summary>Gets the number of replies that are not deleted, for a thread root (0 otherwise); not pushed live.</summary>
    [DataMember(Name = "replyCount")]
    public int ReplyCount { get; init; }

    /// <summary>Gets the reactions, one entry per distinct emoji, in the order each was first added.</summary>
    [DataMember(Name = "reactions")]
    public IReadOnlyList<ReactionDto> Reactions { get; init; } = [];

    /// <summary>Gets the ids of the users the text mentions (<c>@userName</c> of a member), in order of first mention.</summary>
    [DataMember(Name = "mentions")]
    public IReadOnlyList<Guid> Mentions { get; init; } = [];

    /// <inheritdoc/>
    public bool Equals(MessageDto? other) =>
        other is not null
        && Id == other.Id && Room == other.Room && Seq == other.Seq && AuthorId == other.AuthorId && AuthorName == other.AuthorName
        && Text == other.Text && SentAt == other.SentAt && ClientMessageId == other.ClientMessageId && EditedAt == other.EditedAt
        && Deleted == other.Deleted && ReplyTo == other.ReplyTo && ThreadRoot == other.ThreadRoot && ReplyCount == other.ReplyCount
        && Reactions.SequenceEqual(other.Reactions) && Mentions.SequenceEqual(other.Mentions);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, Room, Seq, Text, Deleted, EditedAt);
}

/// <summary>The users who reacted to a message with one emoji (an item of <see cref="MessageDto.Reactions"/>).</summary>
/// <param name="Emoji">The emoji (NFC, 1 to 32 UTF-16 code units).</param>
/// <param name="Count">The number of users (the length of <paramref name="UserIds"/>).</param>
/// <param name="UserIds">The users, in the order they reacted.</param>
[DataContract]
public sealed record ReactionDto(
    [property: DataMember(Name = "emoji")] string Emoji,
    [property: DataMember(Name = "count")] int Count,
    [property: DataMember(Name = "userIds")] IReadOnlyList<Guid> UserIds)
{
    /// <inheritdoc/>
    public bool Equals(ReactionDto? other) => other is not null && Emoji == other.Emoji && Count == other.Count && UserIds.SequenceEqual(other.UserIds);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Emoji, Count);
}

/// <summary>The values of <see cref="MessageUpdatedEvent.Change"/> and <see cref="RoomEventDto.Change"/>.</summary>
public static class MessageChanges
{
    /// <summary>The text was edited.</summary>
    public const string Edited = "edited";

    /// <summary>The message was deleted.</summary>
    public const string Deleted = "deleted";

    /// <summary>A reaction was added or removed.</summary>
    public const string Reactions = "reactions";
}

/// <summary>The values of <see cref="RoomEventDto.Type"/>.</summary>
public static class RoomEventTypes
{
    /// <summary>A new message (its <c>seq</c> is the message's own).</summary>
    public const string Message = "message";

    /// <summary>A change of a message (a <see cref="MessageUpdatedEvent"/>).</summary>
    public const string MessageUpdated = "messageUpdated";
}

/// <summary>The <c>messageUpdated</c> event: a message was edited or deleted or its reactions changed; the change took the
/// room's next <paramref name="Seq"/>.</summary>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The event's sequence number in the room (not the message's own <c>seq</c>).</param>
/// <param name="Change">What changed, one of <see cref="MessageChanges"/>.</param>
/// <param name="Message">The message in its current state (its own <c>seq</c> is the one it was created with).</param>
[DataContract]
public sealed record MessageUpdatedEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "seq")] long Seq,
    [property: DataMember(Name = "change")] string Change,
    [property: DataMember(Name = "message")] MessageDto Message);

/// <summary>One event of a room's sequence (<c>GetEvents</c>, <c>GET /api/rooms/{room}/events</c>).</summary>
/// <param name="Type"><c>message</c> or <c>messageUpdated</c> (<see cref="RoomEventTypes"/>).</param>
/// <param name="Seq">The event's sequence number.</param>
/// <param name="Message">The message in its current state.</param>
/// <param name="Change">For <c>messageUpdated</c>: what changed (<see cref="MessageChanges"/>); otherwise <see langword="null"/>.</param>
[DataContract]
public sealed record RoomEventDto(
    [property: DataMember(Name = "type")] string Type,
    [property: DataMember(Name = "seq")] long Seq,
    [property: DataMember(Name = "message")] MessageDto Message,
    [property: DataMember(Name = "change")] string? Change);

/// <summary>The <c>read</c> event, to the user's other connections: their read marker in a room moved forward. No <c>seq</c>.</summary>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The marker's new position.</param>
[DataContract]
public sealed record ReadEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "seq")] long Seq);

/// <summary>The <c>mention</c> event, to every connection of a mentioned user (also when it has not joined the room). No <c>seq</c>.</summary>
/// <param name="Room">The room name.</param>
/// <param name="Message">The message that mentions the user.</param>
[DataContract]
public sealed record MentionEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "message")] MessageDto Message);

/// <summary>The result of the hub's <c>JoinRoom</c>.</summary>
/// <param name="Room">The room name (normalized).</param>
/// <param name="LastSeq">The boundary: every message up to it is in <paramref name="Missed"/> or older history; every later one arrives live.</param>
/// <param name="Missed">The missed messages (new messages, in their current state), ascending by seq.</param>
/// <param name="HasMore"><see langword="true"/> when more messages exist than were returned (page them with <c>GetHistory</c>).</param>
[DataContract]
public sealed record JoinRoomResult(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "lastSeq")] long LastSeq,
    [property: DataMember(Name = "missed")] IReadOnlyList<MessageDto> Missed,
    [property: DataMember(Name = "hasMore")] bool HasMore)
{
    /// <summary>Gets the <c>messageUpdated</c> events after <c>afterSeq</c> up to <see cref="LastSeq"/>, ascending by their
    /// <c>seq</c>: with <see cref="Missed"/> every event of that range (up to the cap). Empty for a join without <c>afterSeq</c>.</summary>
    [DataMember(Name = "updates")]
    public IReadOnlyList<MessageUpdatedEvent> Updates { get; init; } = [];
}

/// <summary>The acknowledgement of the hub's <c>SendMessage</c>.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Seq">The sequence number.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
[DataContract]
public sealed record SendMessageAck(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "seq")] long Seq,
    [property: DataMember(Name = "sentAt")] DateTime SentAt);
