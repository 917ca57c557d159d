namespace ChitChat;

/// <summary>A persisted chat message. Messages are append-only.</summary>
/// <param name="Id">The time-ordered identifier (a version 7 GUID).</param>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The per-room sequence number assigned by the primary store: 1, 2, 3, ... with no gaps.</param>
/// <param name="AuthorId">The author's user id, taken from the authenticated identity.</param>
/// <param name="AuthorName">The author's user name, taken from the authenticated identity.</param>
/// <param name="Text">The message text, stored byte-exact.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
/// <param name="ClientMessageId">The client's idempotency key, unique per room, or <see langword="null"/>.</param>
/// <param name="Version">The document version; starts at 1.</param>
public sealed record ChatMessage(
    Guid Id,
    string Room,
    long Seq,
    Guid AuthorId,
    string AuthorName,
    string Text,
    DateTimeOffset SentAt,
    string? ClientMessageId,
    long Version)
{
    /// <summary>Gets the surface the message came in through when it is not ChitChat's own API (for example
    /// <see cref="MessageOrigins.Legacy"/>), or <see langword="null"/> for the hub and the HTTP API. Set by the server,
    /// never from a client's payload; stored and replicated with the message, so that a sink that has already shown a
    /// message of its own origin (the legacy sockets) can skip it, live or filled from the store.</summary>
    public string? Origin { get; init; }
}

/// <summary>Well-known values of <see cref="ChatMessage.Origin"/>.</summary>
public static class MessageOrigins
{
    /// <summary>The ChitChat 1 compatible API (<c>POST /message/create</c>).</summary>
    public const string Legacy = "legacy";
}

/// <summary>A message accepted by <see cref="Messaging.MessageSender"/> and about to be appended; the store assigns its sequence number.</summary>
/// <param name="Id">The time-ordered identifier chosen by the service.</param>
/// <param name="Room">The room name (already normalized and known to exist).</param>
/// <param name="AuthorId">The author's user id.</param>
/// <param name="AuthorName">The author's user name.</param>
/// <param name="Text">The validated text.</param>
/// <param name="SentAt">The server timestamp.</param>
/// <param name="ClientMessageId">The optional idempotency key.</param>
public sealed record NewMessage(
    Guid Id,
    string Room,
    Guid AuthorId,
    string AuthorName,
    string Text,
    DateTimeOffset SentAt,
    string? ClientMessageId)
{
    /// <summary>Gets the surface the message came in through (see <see cref="ChatMessage.Origin"/>).</summary>
    public string? Origin { get; init; }

    /// <summary>Creates the stored message once the store has assigned <paramref name="seq"/>.</summary>
    /// <param name="seq">The assigned sequence number.</param>
    /// <returns>The message with version 1.</returns>
    public ChatMessage ToMessage(long seq) =>
        new(Id, Room, seq, AuthorId, AuthorName, Text, SentAt, ClientMessageId, 1) { Origin = Origin };
}

/// <summary>The result of appending a message.</summary>
/// <param name="Message">The stored message: the new one, or the original when the idempotency key was seen before.</param>
/// <param name="Created"><see langword="true"/> when a new message was stored; <see langword="false"/> for a deduplicated retry.</param>
public readonly record struct AppendResult(ChatMessage Message, bool Created);

/// <summary>The authenticated identity a request acts as. Authors always come from here, never from a payload.</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
public readonly record struct ChatIdentity(Guid UserId, string UserName);

/// <summary>A page request for message history. Results are always ascending by sequence number.</summary>
/// <param name="AfterSeq">When set, only messages with <c>seq &gt; AfterSeq</c>; the page is the <em>earliest</em> <paramref name="Limit"/> of them.</param>
/// <param name="BeforeSeq">When set, only messages with <c>seq &lt; BeforeSeq</c>; without <paramref name="AfterSeq"/> the page is the <em>latest</em> <paramref name="Limit"/> of them.</param>
/// <param name="Limit">The maximum number of messages (at least 1).</param>
public readonly record struct MessageQuery(long? AfterSeq, long? BeforeSeq, int Limit);

/// <summary>The result of catching up a room from a sequence number.</summary>
/// <param name="Room">The room name.</param>
/// <param name="LastSeq">The last sequence number in the room when the catch-up was read.</param>
/// <param name="Missed">The messages after the requested sequence number, ascending, up to the cap.</param>
/// <param name="HasMore"><see langword="true"/> when more messages up to <paramref name="LastSeq"/> exist than were returned.</param>
public sealed record CatchUpResult(string Room, long LastSeq, IReadOnlyList<ChatMessage> Missed, bool HasMore);

/// <summary>A user who is online in a room.</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
public readonly record struct OnlineUser(Guid UserId, string UserName);
