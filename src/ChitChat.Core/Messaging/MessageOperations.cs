using System.Diagnostics.Metrics;
using System.Globalization;
using ChitChat.Contracts;
using ChitChat.Diagnostics;
using ChitChat.Membership;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Messaging;

/// <summary>
/// Changes stored messages (protocol version 2's message operations): edit, delete, react, unreact. The rules that depend
/// on who asks live here (the author edits, within <see cref="ChitChatOptions.EditWindow"/>; the author, an owner or a
/// moderator deletes; a member who may send reacts; a mute blocks editing and reacting, not deleting one's own message or
/// removing one's reaction); the rules that depend on the message's state live in <see cref="MessageMutation"/>, which the
/// store applies atomically. A change takes the room's next <c>seq</c> and is published as <see cref="MessageUpdated"/>.
/// </summary>
/// <remarks>
/// Access is decided first, with the room rules every other operation uses (<see cref="MembershipService"/>): a room the
/// caller may not see is <c>room_not_found</c> before any message is looked up, so a message id never reveals a private
/// room. A message id of another room is <c>message_not_found</c> in this one (the store looks messages up by room and id).
/// As with a send, the store is the truth and the publish best effort: receivers fill a lost update from the store by <c>seq</c>.
/// </remarks>
public sealed partial class MessageOperations
{
    private readonly IChatStore _store;
    private readonly IChatTransport _transport;
    private readonly MembershipService _membership;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ChitChatMetrics _metrics;
    private readonly ILogger<MessageOperations> _logger;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="transport">The transport.</param>
    /// <param name="membership">The membership rules.</param>
    /// <param name="options">The options (<see cref="ChitChatOptions.EditWindow"/>, <see cref="ChitChatOptions.MaxReactionsPerMessage"/>).</param>
    /// <param name="time">The clock.</param>
    /// <param name="meterFactory">The meter factory.</param>
    /// <param name="logger">The logger.</param>
    public MessageOperations(IChatStore store, IChatTransport transport, MembershipService membership, IOptions<ChitChatOptions> options, TimeProvider time, IMeterFactory meterFactory, ILogger<MessageOperations> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _transport = transport;
        _membership = membership;
        _options = options.Value;
        _time = time;
        _metrics = ChitChatMetrics.For(meterFactory);
        _logger = logger;
    }

    /// <summary>Edits a message's text as its author, within <see cref="ChitChatOptions.EditWindow"/> of sending. The mentions are
    /// resolved again from the new text; newly mentioned members get a <c>mention</c> event. The same text changes nothing.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room.</param>
    /// <param name="id">The message id.</param>
    /// <param name="text">The new text.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message in its current state.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.PayloadTooLarge"/>,
    /// <see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.MessageNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/>
    /// (banned, muted, not the author, deleted, after the window) or <see cref="ChatErrorCodes.Unavailable"/>.</exception>
    public async Task<ChatMessage> EditAsync(ChatIdentity user, RoomName room, Guid id, string? text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        var parsed = MessageText.Parse(text, _options.MaxMessageLength);
        await _membership.DemandAsync(user, room, RoomOperation.Send, cancellationToken).ConfigureAwait(false);
        var current = await FindAsync(room, id, cancellationToken).ConfigureAwait(false);
        if (current.AuthorId != user.UserId)
        {
            throw new ChatException(ChatErrorCodes.Forbidden, "Only the author may edit a message.");
        }

        if (current.Deleted)
        {
            throw new ChatException(ChatErrorCodes.Forbidden, "A deleted message cannot be edited.");
        }

        var now = _time.GetUtcNow();
        if (now - current.SentAt > _options.EditWindow)
        {
            throw new ChatException(ChatErrorCodes.Forbidden, string.Create(CultureInfo.InvariantCulture, $"A message can be edited only within {_options.EditWindow} of sending it."));
        }

        var mentions = await Mentions.ResolveAsync(_store, room.Value, parsed.Value, cancellationToken).ConfigureAwait(false);
        var result = await UpdateAsync(room, id, new EditMessageText(parsed.Value, mentions), now, cancellationToken).ConfigureAwait(false);
        if (result.Status == MessageUpdateStatus.Updated)
        {
            await MessagePublishing.PublishMentionsAsync(_transport, result.Message!, current.Mentions, _logger, cancellationToken).ConfigureAwait(false);
        }

        return result.Message!;
    }

    /// <summary>Deletes a message: the author may (also while muted), and so may an owner or a moderator of the room (not in a
    /// direct room, which has no moderation). The message becomes a tombstone that keeps its place. Deleting it again changes nothing.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room.</param>
    /// <param name="id">The message id.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message in its current state (a tombstone).</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.MessageNotFound"/>,
    /// <see cref="ChatErrorCodes.Forbidden"/> or <see cref="ChatErrorCodes.Unavailable"/>.</exception>
    public async Task<ChatMessage> DeleteAsync(ChatIdentity user, RoomName room, Guid id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        var access = await _membership.DemandAsync(user, room, RoomOperation.Read, cancellationToken).ConfigureAwait(false);
        var current = await FindAsync(room, id, cancellationToken).ConfigureAwait(false);
        if (current.AuthorId != user.UserId && _membership.Check(access, RoomOperation.Moderate) is { } error)
        {
            throw error.Code == ChatErrorCodes.Forbidden && access.Room.Kind != RoomKind.Direct
                ? new ChatException(ChatErrorCodes.Forbidden, "Only the author, an owner or a moderator may delete a message.")
                : error;
        }

        var result = await UpdateAsync(room, id, new DeleteMessage(), _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return result.Message!;
    }

    /// <summary>Adds the caller's reaction (repeating it changes nothing). The caller must be allowed to send (not muted); in a
    /// public room it makes them a member, like a send.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room.</param>
    /// <param name="id">The message id.</param>
    /// <param name="emoji">The emoji (1 to 32 UTF-16 code units after NFC normalization).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message in its current state.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> (the emoji, or more than
    /// <see cref="ChitChatOptions.MaxReactionsPerMessage"/> distinct ones), <see cref="ChatErrorCodes.RoomNotFound"/>,
    /// <see cref="ChatErrorCodes.MessageNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/> (banned, muted, a deleted message)
    /// or <see cref="ChatErrorCodes.Unavailable"/>.</exception>
    public async Task<ChatMessage> ReactAsync(ChatIdentity user, RoomName room, Guid id, string? emoji, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        var normalized = ParseEmoji(emoji);
        var access = await _membership.DemandAsync(user, room, RoomOperation.Send, cancellationToken).ConfigureAwait(false);
        var current = await FindAsync(room, id, cancellationToken).ConfigureAwait(false);
        if (current.Deleted)
        {
            throw new ChatException(ChatErrorCodes.Forbidden, "A deleted message cannot get reactions.");
        }

        if (!access.IsMember)
        {
            // Reacting in a public room makes the caller a member, like sending.
            await _membership.JoinAsync(user, room, cancellationToken).ConfigureAwait(false);
        }

        var result = await UpdateAsync(room, id, new AddReaction(normalized, user.UserId, _options.MaxReactionsPerMessage), _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return result.Message!;
    }

    /// <summary>Removes the caller's reaction (one that is not there changes nothing); allowed while muted.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room.</param>
    /// <param name="id">The message id.</param>
    /// <param name="emoji">The emoji.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message in its current state.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.RoomNotFound"/>,
    /// <see cref="ChatErrorCodes.MessageNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/> (banned) or <see cref="ChatErrorCodes.Unavailable"/>.</exception>
    public async Task<ChatMessage> UnreactAsync(ChatIdentity user, RoomName room, Guid id, string? emoji, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        var normalized = ParseEmoji(emoji);
        await _membership.DemandAsync(user, room, RoomOperation.Read, cancellationToken).ConfigureAwait(false);
        var result = await UpdateAsync(room, id, new RemoveReaction(normalized, user.UserId), _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return result.Message!;
    }

    /// <summary>The error of an unknown message id in a room.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The error.</returns>
    internal static ChatException MessageNotFound(Guid id) => MessageNotFoundError(id.ToString("D", CultureInfo.InvariantCulture));

    /// <summary>The error of a message id that names no message of the room (also one that is no id at all).</summary>
    /// <param name="id">The id as given.</param>
    /// <returns>The error.</returns>
    public static ChatException MessageNotFoundError(string id) =>
        new(ChatErrorCodes.MessageNotFound, string.Create(CultureInfo.InvariantCulture, $"The message '{id}' does not exist in this room."));

    private static string ParseEmoji(string? emoji) =>
        MessageMutation.TryNormalizeEmoji(emoji, out var normalized)
            ? normalized
            : throw ChatException.Validation("emoji", string.Create(CultureInfo.InvariantCulture, $"An emoji is 1 to {MessageMutation.MaxEmojiLength} characters (UTF-16 code units after NFC normalization), without spaces or control characters."));

    private async Task<ChatMessage> FindAsync(RoomName room, Guid id, CancellationToken cancellationToken) =>
        await _store.Messages.FindAsync(room.Value, id, cancellationToken).ConfigureAwait(false) ?? throw MessageNotFound(id);

    /// <summary>Applies a mutation in the store and publishes the change when it took a <c>seq</c>.</summary>
    private async Task<MessageUpdateResult> UpdateAsync(RoomName room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var result = await _store.Messages.UpdateAsync(room.Value, id, mutation, at, cancellationToken).ConfigureAwait(false);
        switch (result.Status)
        {
            case MessageUpdateStatus.NotFound:
                throw MessageNotFound(id);
            case MessageUpdateStatus.Refused:
                throw new ChatException(result.RefusalCode ?? ChatErrorCodes.Forbidden, Capitalize(result.Refusal ?? "The change is not allowed.") + ".");
            case MessageUpdateStatus.Unchanged:
                return result;
        }

        var update = result.Update!;
        if (_metrics.MessagesUpdated.Enabled)
        {
            _metrics.MessagesUpdated.Add(1, new KeyValuePair<string, object?>("change", ChitChatMetrics.ChangeTag(update.Change)));
        }

        LogUpdated(room.Value, id, update.Change, update.Seq);
        try
        {
            // Not the caller's token: the change is durable and live receivers must hear of it (else only the next event's gap reveals it).
            await _transport.PublishAsync(new MessageUpdated(update.Seq, update.Change, result.Message!), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogPublishFailed(room.Value, update.Seq, ex);
        }

        return result;
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..].TrimEnd('.');

    [LoggerMessage(EventId = 1401, EventName = "MessageUpdated", Level = LogLevel.Debug, Message = "Room {Room}: message {MessageId} {Change} at seq {Seq}.")]
    private partial void LogUpdated(string room, Guid messageId, MessageChange change, long seq);

    [LoggerMessage(EventId = 1402, EventName = "UpdatePublishFailed", Level = LogLevel.Warning, Message = "Publishing an update of room {Room} (seq {Seq}) failed; receivers will fill the gap from the store.")]
    private partial void LogPublishFailed(string room, long seq, Exception exception);
}

/// <summary>The publishes that follow a stored message and that every writer of messages shares.</summary>
internal static partial class MessagePublishing
{
    /// <summary>Publishes a <see cref="UserMentioned"/> on the channel of each user the message mentions who was not mentioned
    /// before (<paramref name="previously"/>) and is not its author. Best effort, like every publish.</summary>
    public static async Task PublishMentionsAsync(IChatTransport transport, ChatMessage message, IReadOnlyList<Guid> previously, ILogger logger, CancellationToken cancellationToken)
    {
        _ = cancellationToken; // durable already: publishes are not cancelled by the caller
        foreach (var userId in message.Mentions)
        {
            if (userId == message.AuthorId || previously.Contains(userId))
            {
                continue;
            }

            try
            {
                await transport.PublishAsync(new UserMentioned(userId, message), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogMentionPublishFailed(logger, message.Room, userId, ex);
            }
        }
    }

    [LoggerMessage(EventId = 1403, EventName = "MentionPublishFailed", Level = LogLevel.Warning, Message = "Room {Room}: publishing the mention of user {UserId} failed (the message's mentions and the unread counts still show it).")]
    private static partial void LogMentionPublishFailed(ILogger logger, string room, Guid userId, Exception exception);
}
