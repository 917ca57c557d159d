namespace ChitChat;

/// <summary>
/// A persisted chat message in its current state. A message keeps the <see cref="Seq"/> it was created with; every later
/// change (an edit, a delete, a change of reactions) is a new <see cref="Version"/> of the document and takes the room's
/// next sequence number as a <see cref="MessageUpdate"/> event (see <see cref="MessageMutation"/>). Equality compares the
/// lists (<see cref="Reactions"/>, <see cref="Mentions"/>) by their elements.
/// </summary>
/// <param name="Id">The time-ordered identifier (a version 7 GUID).</param>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The per-room sequence number assigned by the primary store: 1, 2, 3, ... with no gaps.</param>
/// <param name="AuthorId">The author's user id, taken from the authenticated identity.</param>
/// <param name="AuthorName">The author's user name, taken from the authenticated identity.</param>
/// <param name="Text">The message text, stored byte-exact.</param>
/// <param name="SentAt">The server timestamp (UTC).</param>
/// <param name="ClientMessageId">The client's idempotency key, unique per room, or <see langword="null"/>.</param>
/// <param name="Version">The document version: 1 when created, one more with every change (replication's "higher version wins").</param>
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

    /// <summary>Gets when the text was last edited, or <see langword="null"/> when it never was.</summary>
    public DateTimeOffset? EditedAt { get; init; }

    /// <summary>Gets whether the message was deleted: a tombstone that keeps its place (<see cref="Seq"/>, author,
    /// <see cref="SentAt"/>, <see cref="ReplyTo"/>, <see cref="ThreadRoot"/>) with an empty <see cref="Text"/>, no
    /// <see cref="Reactions"/> and no <see cref="Mentions"/>. The text is gone from the store, its search index and its replicas.</summary>
    public bool Deleted { get; init; }

    /// <summary>Gets the id of the message this one answers (in the same room), or <see langword="null"/>.</summary>
    public Guid? ReplyTo { get; init; }

    /// <summary>Gets the id of the first message of this one's thread (the root that <see cref="ReplyTo"/> leads to), or
    /// <see langword="null"/> when this message is not a reply.</summary>
    public Guid? ThreadRoot { get; init; }

    /// <summary>Gets the number of replies that are not deleted, for a thread root; 0 otherwise. Derived by the store when the
    /// message is read (from an index of replies by root), never stored or replicated, and not part of <see cref="Version"/>.</summary>
    public int ReplyCount { get; init; }

    /// <summary>Gets the reactions: one entry per distinct emoji, in the order each emoji was first added, each with the
    /// users who reacted with it in the order they reacted. Empty when there is none.</summary>
    public IReadOnlyList<MessageReaction> Reactions { get; init; } = [];

    /// <summary>Gets the ids of the room's members that the text mentions (<c>@userName</c>), distinct, in order of first mention.</summary>
    public IReadOnlyList<Guid> Mentions { get; init; } = [];

    /// <inheritdoc/>
    public bool Equals(ChatMessage? other) =>
        other is not null
        && Id == other.Id && Room == other.Room && Seq == other.Seq && AuthorId == other.AuthorId && AuthorName == other.AuthorName
        && Text == other.Text && SentAt == other.SentAt && ClientMessageId == other.ClientMessageId && Version == other.Version
        && Origin == other.Origin && EditedAt == other.EditedAt && Deleted == other.Deleted && ReplyTo == other.ReplyTo
        && ThreadRoot == other.ThreadRoot && ReplyCount == other.ReplyCount
        && Reactions.SequenceEqual(other.Reactions) && Mentions.SequenceEqual(other.Mentions);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, Room, Seq, Version, Text, Deleted, Reactions.Count, Mentions.Count);
}

/// <summary>The users who reacted to a message with one emoji.</summary>
/// <param name="Emoji">The emoji: 1 to 32 UTF-16 code units after NFC normalization (see <see cref="MessageMutation.TryNormalizeEmoji"/>).</param>
/// <param name="UserIds">The users, distinct, in the order they reacted; never empty in a stored message.</param>
public sealed record MessageReaction(string Emoji, IReadOnlyList<Guid> UserIds)
{
    /// <summary>Gets the number of users who reacted with <see cref="Emoji"/>.</summary>
    public int Count => UserIds.Count;

    /// <inheritdoc/>
    public bool Equals(MessageReaction? other) => other is not null && Emoji == other.Emoji && UserIds.SequenceEqual(other.UserIds);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Emoji, UserIds.Count);
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

    /// <summary>Gets the id of the message this one answers (checked by the service: same room, not deleted), or <see langword="null"/>.</summary>
    public Guid? ReplyTo { get; init; }

    /// <summary>Gets the root of the thread (<see cref="ReplyTo"/>'s own <see cref="ChatMessage.ThreadRoot"/>, or
    /// <see cref="ReplyTo"/> itself when it is a root), or <see langword="null"/> when this is not a reply.</summary>
    public Guid? ThreadRoot { get; init; }

    /// <summary>Gets the members mentioned by the text (resolved by the service).</summary>
    public IReadOnlyList<Guid> Mentions { get; init; } = [];

    /// <summary>Creates the stored message once the store has assigned <paramref name="seq"/>.</summary>
    /// <param name="seq">The assigned sequence number.</param>
    /// <returns>The message with version 1.</returns>
    public ChatMessage ToMessage(long seq) =>
        new(Id, Room, seq, AuthorId, AuthorName, Text, SentAt, ClientMessageId, 1)
        {
            Origin = Origin,
            ReplyTo = ReplyTo,
            ThreadRoot = ThreadRoot,
            Mentions = Mentions,
        };
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
/// <param name="Missed">The new messages after the requested sequence number (current state), ascending, up to the cap.</param>
/// <param name="HasMore"><see langword="true"/> when more events up to <paramref name="LastSeq"/> exist than were returned.</param>
public sealed record CatchUpResult(string Room, long LastSeq, IReadOnlyList<ChatMessage> Missed, bool HasMore)
{
    /// <summary>Gets the update events in the same range, ascending by their <c>seq</c>: with <see cref="Missed"/> every event
    /// after the requested sequence number up to the cap (each message in its current state).</summary>
    public IReadOnlyList<MessageEvent> Updates { get; init; } = [];
}

/// <summary>A user who is online in a room.</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
public readonly record struct OnlineUser(Guid UserId, string UserName);
