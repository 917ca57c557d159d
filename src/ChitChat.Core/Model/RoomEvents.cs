using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ChitChat;

/// <summary>
/// A stored update event of a room: the change of a message that took the room's sequence number <see cref="Seq"/>. The
/// store writes it in the same atomic step as the message's new version. Immutable once written; replicated as
/// <see cref="Storage.DocumentKind.MessageUpdate"/>. Readers pair it with the message's <em>current</em> state.
/// </summary>
/// <param name="Room">The room name.</param>
/// <param name="Seq">The event's sequence number in the room (shared with new messages: gap-free over both).</param>
/// <param name="MessageId">The changed message.</param>
/// <param name="Change">What changed.</param>
/// <param name="MessageVersion">The message's version that the change produced.</param>
/// <param name="At">When the change was made.</param>
public sealed record MessageUpdate(string Room, long Seq, Guid MessageId, MessageChange Change, long MessageVersion, DateTimeOffset At)
{
    /// <summary>Gets the document id: a name-based id of (room, seq), the same on every node and replica.</summary>
    public Guid Id => IdFor(Room, Seq);

    /// <summary>Gets the document version: always 1 (an update event never changes).</summary>
    public long Version => 1;

    /// <summary>Computes the id of the update event with sequence number <paramref name="seq"/> in <paramref name="room"/>.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="seq">The sequence number.</param>
    /// <returns>The id.</returns>
    public static Guid IdFor(string room, long seq)
    {
        ArgumentNullException.ThrowIfNull(room);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("update\n" + room + "\n" + seq.ToString(CultureInfo.InvariantCulture)));
        return new Guid(hash.AsSpan(0, 16));
    }
}

/// <summary>The kind of a <see cref="MessageEvent"/>.</summary>
public enum MessageEventKind
{
    /// <summary>A new message (the protocol's <c>message</c>); its <c>seq</c> is the message's own.</summary>
    Posted = 0,
    /// <summary>A change of a message (the protocol's <c>messageUpdated</c>).</summary>
    Updated = 1,
}

/// <summary>One event of a room's sequence as read from the store (<see cref="Storage.IMessageStore.ReadEventsAsync"/>).</summary>
/// <param name="Seq">The event's sequence number.</param>
/// <param name="Kind">A new message or an update.</param>
/// <param name="Message">The message in its <em>current</em> state (a deleted text is never served again).</param>
/// <param name="Change">For <see cref="MessageEventKind.Updated"/>: what changed; otherwise <see langword="null"/>.</param>
public sealed record MessageEvent(long Seq, MessageEventKind Kind, ChatMessage Message, MessageChange? Change)
{
    /// <summary>Creates the event of a new message.</summary>
    /// <param name="message">The message (current state).</param>
    /// <returns>The event, with the message's own <c>seq</c>.</returns>
    public static MessageEvent Posted(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(message.Seq, MessageEventKind.Posted, message, null);
    }

    /// <summary>Creates the event of an update.</summary>
    /// <param name="seq">The update's sequence number.</param>
    /// <param name="change">What changed.</param>
    /// <param name="message">The message (current state).</param>
    /// <returns>The event.</returns>
    public static MessageEvent Updated(long seq, MessageChange change, ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(seq, MessageEventKind.Updated, message, change);
    }
}

/// <summary>How <see cref="Storage.IMessageStore.UpdateAsync"/> came out.</summary>
public enum MessageUpdateStatus
{
    /// <summary>Stored: the message's new version and the update event with the room's next <c>seq</c>.</summary>
    Updated = 0,
    /// <summary>Nothing to change; nothing stored, no <c>seq</c> taken.</summary>
    Unchanged = 1,
    /// <summary>The mutation was refused on the current state; nothing stored.</summary>
    Refused = 2,
    /// <summary>No message with that id in that room; nothing stored.</summary>
    NotFound = 3,
}

/// <summary>The result of <see cref="Storage.IMessageStore.UpdateAsync"/>.</summary>
/// <param name="Status">How it came out.</param>
/// <param name="Message">The message's state after the call (current state), or <see langword="null"/> for <see cref="MessageUpdateStatus.NotFound"/>.</param>
/// <param name="Update">For <see cref="MessageUpdateStatus.Updated"/>: the stored update event (its <c>seq</c>).</param>
/// <param name="RefusalCode">For <see cref="MessageUpdateStatus.Refused"/>: the error code (<see cref="MutationOutcome.RefusalCode"/>).</param>
/// <param name="Refusal">For <see cref="MessageUpdateStatus.Refused"/>: the reason.</param>
public sealed record MessageUpdateResult(MessageUpdateStatus Status, ChatMessage? Message, MessageUpdate? Update = null, string? RefusalCode = null, string? Refusal = null)
{
    /// <summary>Gets the result for an unknown message.</summary>
    public static MessageUpdateResult NotFound { get; } = new(MessageUpdateStatus.NotFound, null);

    /// <summary>Maps a mutation's outcome to the result a store returns (for <see cref="MutationStatus.Changed"/>, after storing).</summary>
    /// <param name="outcome">The outcome of <see cref="MessageMutation.Apply"/>.</param>
    /// <param name="update">The stored update event, for <see cref="MutationStatus.Changed"/>.</param>
    /// <returns>The result.</returns>
    public static MessageUpdateResult From(MutationOutcome outcome, MessageUpdate? update) => outcome.Status switch
    {
        MutationStatus.Changed => new(MessageUpdateStatus.Updated, outcome.Message, update ?? throw new ArgumentNullException(nameof(update))),
        MutationStatus.Unchanged => new(MessageUpdateStatus.Unchanged, outcome.Message),
        _ => new(MessageUpdateStatus.Refused, outcome.Message, null, outcome.RefusalCode, outcome.Refusal),
    };
}

/// <summary>
/// A user's read marker in a room: the highest <c>seq</c> the user has read there, on any device. It only moves forward.
/// Replicated as <see cref="Storage.DocumentKind.ReadMarker"/> with <see cref="Version"/> = <see cref="Seq"/>, so "higher
/// version wins" is "the furthest marker wins".
/// </summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user.</param>
/// <param name="Seq">The last read sequence number (0 when nothing was read).</param>
/// <param name="UpdatedAt">When the marker last moved.</param>
public sealed record ReadMarker(string Room, Guid UserId, long Seq, DateTimeOffset UpdatedAt)
{
    /// <summary>Gets the document id: a name-based id of (room, user), distinct from the membership's.</summary>
    public Guid Id => IdFor(Room, UserId);

    /// <summary>Gets the document version (the marker's <see cref="Seq"/>).</summary>
    public long Version => Seq;

    /// <summary>Computes the id of a user's read marker in a room.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userId">The user.</param>
    /// <returns>The id.</returns>
    public static Guid IdFor(string room, Guid userId)
    {
        ArgumentNullException.ThrowIfNull(room);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("read\n" + room + "\n" + userId.ToString("D", CultureInfo.InvariantCulture)));
        return new Guid(hash.AsSpan(0, 16));
    }
}

/// <summary>Where a search page ends: results strictly older than this message, in the order newest first by
/// <see cref="SentAt"/>, then <see cref="Seq"/>, then <see cref="Room"/> (ordinal), all descending.</summary>
/// <param name="SentAt">The message's <see cref="ChatMessage.SentAt"/>.</param>
/// <param name="Seq">The message's <see cref="ChatMessage.Seq"/>.</param>
/// <param name="Room">The message's room.</param>
public readonly record struct MessageSearchCursor(DateTimeOffset SentAt, long Seq, string Room)
{
    /// <summary>Creates the cursor of a message.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The cursor.</returns>
    public static MessageSearchCursor Of(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(message.SentAt, message.Seq, message.Room);
    }

    /// <summary>Whether <paramref name="message"/> comes after this cursor in the result order (is older).</summary>
    /// <param name="message">The message.</param>
    /// <returns><see langword="true"/> when it belongs on a page after the cursor.</returns>
    public bool IsBefore(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bySent = message.SentAt.CompareTo(SentAt);
        if (bySent != 0)
        {
            return bySent < 0;
        }

        var bySeq = message.Seq.CompareTo(Seq);
        return bySeq != 0 ? bySeq < 0 : string.CompareOrdinal(message.Room, Room) < 0;
    }
}

/// <summary>A full-text search over messages (see <see cref="Storage.IMessageStore.SearchAsync"/>).</summary>
/// <param name="Terms">The words to match, from <see cref="SearchText.Words"/> (each folded; at least one). Every term must
/// match a whole word of the text (a store may also match word prefixes).</param>
/// <param name="Rooms">The rooms to search (the ones the caller may read, decided by the service; at least one).</param>
/// <param name="Before">When set, only results older than this position.</param>
/// <param name="Limit">The most results (at least 1).</param>
public sealed record MessageSearch(IReadOnlyList<string> Terms, IReadOnlyCollection<string> Rooms, MessageSearchCursor? Before, int Limit);

/// <summary>
/// How text is cut into searchable words, shared by every store so that they match alike: Unicode compatibility
/// decomposition, combining marks dropped (diacritics folded: "Café" and "cafe" match), lower-cased (invariant), split on
/// every character that is not a letter or a digit. Query text goes through the same function, so FTS operators, quotes
/// and parentheses in a query are plain text (they are separators).
/// </summary>
public static class SearchText
{
    /// <summary>The most words of a query that are used (the rest are ignored).</summary>
    public const int MaxQueryWords = 16;

    /// <summary>Cuts a text into folded words, in order, with repeats.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The words.</returns>
    public static IReadOnlyList<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var decomposed = text.Normalize(NormalizationForm.FormKD);
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var rune in decomposed.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            if (Rune.IsLetterOrDigit(rune))
            {
                current.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            else if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }

        return words;
    }

    /// <summary>The distinct words of a query, at most <see cref="MaxQueryWords"/>.</summary>
    /// <param name="query">The query as the user typed it.</param>
    /// <returns>The terms (empty when the query has no word).</returns>
    public static IReadOnlyList<string> Terms(string query) => Words(query).Distinct(StringComparer.Ordinal).Take(MaxQueryWords).ToArray();
}
