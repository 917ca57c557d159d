using System.Text;
using ChitChat.Contracts;

namespace ChitChat;

/// <summary>What a <see cref="MessageUpdate"/> changed (the <c>change</c> of the protocol's <c>messageUpdated</c> event).</summary>
public enum MessageChange
{
    /// <summary>The text was edited.</summary>
    Edited = 0,
    /// <summary>The message was deleted (a tombstone).</summary>
    Deleted = 1,
    /// <summary>A reaction was added or removed.</summary>
    Reactions = 2,
}

/// <summary>How <see cref="MessageMutation.Apply"/> came out.</summary>
public enum MutationStatus
{
    /// <summary>The message changed: store <see cref="MutationOutcome.Message"/> (its version is one more) and give the change the room's next <c>seq</c>.</summary>
    Changed = 0,
    /// <summary>Nothing to change (a repeated reaction, deleting a tombstone, the same text): store nothing, take no <c>seq</c>.</summary>
    Unchanged = 1,
    /// <summary>The change is not allowed on the message's current state: store nothing; <see cref="MutationOutcome.RefusalCode"/> says why.</summary>
    Refused = 2,
}

/// <summary>The result of applying a <see cref="MessageMutation"/> to a message's current state.</summary>
/// <param name="Status">How it came out.</param>
/// <param name="Message">The new state (<see cref="MutationStatus.Changed"/>) or the unchanged current state.</param>
/// <param name="RefusalCode">For <see cref="MutationStatus.Refused"/>: a <see cref="ChatErrorCodes"/> code.</param>
/// <param name="Refusal">For <see cref="MutationStatus.Refused"/>: the reason, for the error message.</param>
public readonly record struct MutationOutcome(MutationStatus Status, ChatMessage Message, string? RefusalCode = null, string? Refusal = null);

/// <summary>
/// A change to a stored message. The rules that depend on who asks (author, role, mute, edit window) are the messaging
/// service's; the rules that depend only on the message's current state live here, in <see cref="Apply"/>, which every store
/// calls inside the one atomic step that reads the current state, stores the new version and assigns the room's next
/// <c>seq</c>. So every store decides the same way, and a change racing another (an edit racing a delete, a delete racing a
/// reaction) is applied to the state the other left, never to a stale copy.
/// </summary>
public abstract record MessageMutation
{
    /// <summary>The longest emoji, in UTF-16 code units after NFC normalization.</summary>
    public const int MaxEmojiLength = 32;

    private protected MessageMutation()
    {
    }

    /// <summary>Gets the kind of change this mutation makes when it changes something.</summary>
    public abstract MessageChange Change { get; }

    /// <summary>Applies the mutation to the message's current state.</summary>
    /// <param name="current">The stored message, current state.</param>
    /// <param name="at">The time of the change.</param>
    /// <returns>The outcome; for <see cref="MutationStatus.Changed"/> a message with <see cref="ChatMessage.Version"/> one more.</returns>
    public abstract MutationOutcome Apply(ChatMessage current, DateTimeOffset at);

    /// <summary>Normalizes an emoji (NFC) and checks its length.</summary>
    /// <param name="emoji">The emoji as given.</param>
    /// <param name="normalized">The NFC form.</param>
    /// <returns><see langword="true"/> when it is 1 to <see cref="MaxEmojiLength"/> UTF-16 code units after normalization,
    /// not blank and free of control characters.</returns>
    public static bool TryNormalizeEmoji(string? emoji, out string normalized)
    {
        normalized = string.Empty;
        if (string.IsNullOrWhiteSpace(emoji) || emoji.Length > MaxEmojiLength * 4)
        {
            return false;
        }

        if (!IsWellFormedUtf16(emoji))
        {
            return false; // a lone surrogate (the normalizer does not reject one on every platform)
        }

        string nfc;
        try
        {
            nfc = emoji.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return false; // lone surrogates
        }

        if (nfc.Length is < 1 or > MaxEmojiLength || nfc.Any(char.IsControl) || nfc.Any(char.IsWhiteSpace))
        {
            return false;
        }

        normalized = nfc;
        return true;
    }

    private protected static MutationOutcome Changed(ChatMessage next, ChatMessage current) =>
        new(MutationStatus.Changed, next with { Version = current.Version + 1 });

    private static bool IsWellFormedUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private protected static MutationOutcome Unchanged(ChatMessage current) => new(MutationStatus.Unchanged, current);

    private protected static MutationOutcome Refused(ChatMessage current, string code, string reason) => new(MutationStatus.Refused, current, code, reason);
}

/// <summary>Replaces the text (an edit). Refused on a deleted message; the same text changes nothing.</summary>
/// <param name="Text">The validated new text.</param>
/// <param name="Mentions">The members the new text mentions (resolved by the service).</param>
public sealed record EditMessageText(string Text, IReadOnlyList<Guid> Mentions) : MessageMutation
{
    /// <inheritdoc/>
    public override MessageChange Change => MessageChange.Edited;

    /// <inheritdoc/>
    public override MutationOutcome Apply(ChatMessage current, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (current.Deleted)
        {
            return Refused(current, ChatErrorCodes.Forbidden, "a deleted message cannot be edited");
        }

        if (string.Equals(current.Text, Text, StringComparison.Ordinal))
        {
            return Unchanged(current);
        }

        return Changed(current with { Text = Text, Mentions = Mentions, EditedAt = at }, current);
    }
}

/// <summary>Deletes the message: it becomes a tombstone (see <see cref="ChatMessage.Deleted"/>). Deleting a tombstone changes nothing.</summary>
public sealed record DeleteMessage : MessageMutation
{
    /// <inheritdoc/>
    public override MessageChange Change => MessageChange.Deleted;

    /// <inheritdoc/>
    public override MutationOutcome Apply(ChatMessage current, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        return current.Deleted
            ? Unchanged(current)
            : Changed(current with { Text = string.Empty, Deleted = true, Reactions = [], Mentions = [] }, current);
    }
}

/// <summary>Adds a user's reaction. Idempotent per (user, emoji); refused on a deleted message and beyond
/// <paramref name="MaxDistinctEmojis"/> distinct emojis.</summary>
/// <param name="Emoji">The normalized emoji (<see cref="MessageMutation.TryNormalizeEmoji"/>).</param>
/// <param name="UserId">The reacting user.</param>
/// <param name="MaxDistinctEmojis">The most distinct emojis on one message (<c>ChitChat:MaxReactionsPerMessage</c>).</param>
public sealed record AddReaction(string Emoji, Guid UserId, int MaxDistinctEmojis) : MessageMutation
{
    /// <inheritdoc/>
    public override MessageChange Change => MessageChange.Reactions;

    /// <inheritdoc/>
    public override MutationOutcome Apply(ChatMessage current, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (current.Deleted)
        {
            return Refused(current, ChatErrorCodes.Forbidden, "a deleted message cannot get reactions");
        }

        var reactions = current.Reactions.ToList();
        var index = reactions.FindIndex(r => r.Emoji == Emoji);
        if (index >= 0)
        {
            if (reactions[index].UserIds.Contains(UserId))
            {
                return Unchanged(current);
            }

            reactions[index] = reactions[index] with { UserIds = [.. reactions[index].UserIds, UserId] };
        }
        else
        {
            if (reactions.Count >= MaxDistinctEmojis)
            {
                return Refused(current, ChatErrorCodes.ValidationFailed, $"a message can have at most {MaxDistinctEmojis} distinct reactions");
            }

            reactions.Add(new MessageReaction(Emoji, [UserId]));
        }

        return Changed(current with { Reactions = reactions }, current);
    }
}

/// <summary>Removes a user's reaction; removing one that is not there changes nothing.</summary>
/// <param name="Emoji">The normalized emoji.</param>
/// <param name="UserId">The user whose reaction is removed.</param>
public sealed record RemoveReaction(string Emoji, Guid UserId) : MessageMutation
{
    /// <inheritdoc/>
    public override MessageChange Change => MessageChange.Reactions;

    /// <inheritdoc/>
    public override MutationOutcome Apply(ChatMessage current, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(current);
        var index = current.Reactions.ToList().FindIndex(r => r.Emoji == Emoji);
        if (index < 0 || !current.Reactions[index].UserIds.Contains(UserId))
        {
            return Unchanged(current);
        }

        var reactions = current.Reactions.ToList();
        var users = reactions[index].UserIds.Where(u => u != UserId).ToArray();
        if (users.Length == 0)
        {
            reactions.RemoveAt(index);
        }
        else
        {
            reactions[index] = reactions[index] with { UserIds = users };
        }

        return Changed(current with { Reactions = reactions }, current);
    }
}
