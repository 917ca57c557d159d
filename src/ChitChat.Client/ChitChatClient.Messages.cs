using System.Globalization;
using ChitChat.Contracts;

namespace ChitChat.Client;

public sealed partial class ChitChatClient
{
    /// <summary>
    /// Raised when this user's read marker moved on another of their connections (another device or tab called
    /// <see cref="MarkReadAsync"/>), so every device agrees on what is read. The connection that marked gets no event.
    /// </summary>
    public event EventHandler<ReadEvent>? ReadReceived;

    /// <summary>Raised when a message mentions this user (<c>@userName</c>), also in a room this client has not joined.</summary>
    public event EventHandler<MentionEvent>? MentionReceived;

    /// <summary>
    /// Edits one of the user's messages (within <see cref="ServerLimits.EditWindowMs"/> of sending it). Every subscriber of
    /// the room, this one included, gets a <see cref="MessageUpdated"/> event with <see cref="MessageChanges.Edited"/>.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="messageId">The message id.</param>
    /// <param name="text">The new text.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message in its new state.</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c>, <c>forbidden</c> (someone else's, deleted, after the window, muted), <c>validation_failed</c>, <c>payload_too_large</c>.</exception>
    public Task<MessageDto> EditMessageAsync(string room, Guid messageId, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return InvokeAsync<MessageDto>(HubMethods.EditMessage, [NormalizeRoom(room), messageId, text], cancellationToken);
    }

    /// <summary>Deletes a message (the author's own; owners and moderators any): it stays in its place as a tombstone with an empty text.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="messageId">The message id.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when deleted.</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c>, <c>forbidden</c>.</exception>
    public Task DeleteMessageAsync(string room, Guid messageId, CancellationToken cancellationToken = default) =>
        InvokeAsync<object?>(HubMethods.DeleteMessage, [NormalizeRoom(room), messageId], cancellationToken);

    /// <summary>Adds the user's reaction to a message; repeating it changes nothing.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="messageId">The message id.</param>
    /// <param name="emoji">The emoji (1 to <see cref="ServerLimits.MaxEmojiLength"/> UTF-16 code units).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when stored.</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c>, <c>forbidden</c> (muted, a deleted message), <c>validation_failed</c>.</exception>
    public Task ReactAsync(string room, Guid messageId, string emoji, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(emoji);
        return InvokeAsync<object?>(HubMethods.React, [NormalizeRoom(room), messageId, emoji], cancellationToken);
    }

    /// <summary>Removes the user's reaction from a message; removing one that does not exist changes nothing.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="messageId">The message id.</param>
    /// <param name="emoji">The emoji.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when removed.</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c>, <c>forbidden</c>.</exception>
    public Task UnreactAsync(string room, Guid messageId, string emoji, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(emoji);
        return InvokeAsync<object?>(HubMethods.Unreact, [NormalizeRoom(room), messageId, emoji], cancellationToken);
    }

    /// <summary>
    /// Sends a reply to a message of the same room through the outbox, with the guarantees of
    /// <see cref="SendAsync(string, string, string?, CancellationToken)"/> (kept while offline, retried with the same
    /// <paramref name="clientMessageId"/>, stored once, in call order with the other sends).
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="replyTo">The id of the message answered (a reply to a reply joins the root's thread).</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The idempotency key, or <see langword="null"/> for a new one.</param>
    /// <param name="cancellationToken">Cancels waiting: the message leaves the outbox.</param>
    /// <returns>The acknowledgement (id, seq, sentAt).</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c>, <c>forbidden</c> (a deleted message), and the refusals of a send.</exception>
    public Task<SendMessageAck> ReplyAsync(string room, Guid replyTo, string text, string? clientMessageId = null, CancellationToken cancellationToken = default) =>
        SendCoreAsync(room, text, clientMessageId, cancellationToken, replyTo);

    /// <summary>Lists the thread of a root message (tombstones included), ascending by seq.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="rootId">The root message's id (for a reply, use its <see cref="MessageDto.ThreadRoot"/>).</param>
    /// <param name="afterSeq">Only replies with a higher seq.</param>
    /// <param name="limit">The page size (the server's default when <see langword="null"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The replies.</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c>, <c>validation_failed</c> (the id is a reply).</exception>
    public Task<IReadOnlyList<MessageDto>> GetRepliesAsync(string room, Guid rootId, long? afterSeq = null, int? limit = null, CancellationToken cancellationToken = default) =>
        InvokeAsync<IReadOnlyList<MessageDto>>(HubMethods.GetReplies, [NormalizeRoom(room), rootId, afterSeq, limit], cancellationToken);

    /// <summary>
    /// Reads the room's event sequence after <paramref name="afterSeq"/>: new messages and message updates, ascending by
    /// seq, each message in its current state. A <see cref="RoomSubscription"/> does this by itself to fill gaps.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last seq the caller has (0 for the start).</param>
    /// <param name="limit">The page size (<see cref="ServerLimits.DefaultEventsPageSize"/> when <see langword="null"/>, at most <see cref="ServerLimits.MaxEventsPageSize"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The events (<see cref="RoomEventDto.Type"/> <see cref="RoomEventTypes.Message"/> or <see cref="RoomEventTypes.MessageUpdated"/>).</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>validation_failed</c>.</exception>
    public Task<IReadOnlyList<RoomEventDto>> GetEventsAsync(string room, long afterSeq, int? limit = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSeq);
        return InvokeAsync<IReadOnlyList<RoomEventDto>>(HubMethods.GetEvents, [NormalizeRoom(room), afterSeq, limit], cancellationToken);
    }

    /// <summary>
    /// Moves the user's read marker in a room forward to <paramref name="seq"/> (a lower one changes nothing, a higher one
    /// than the room's last is clamped). The user's other connections get a <c>read</c> event (<see cref="ReadReceived"/>);
    /// <see cref="GetRoomsAsync"/> reports <see cref="RoomListEntryDto.Unread"/> and <see cref="RoomListEntryDto.Mentions"/> after it.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="seq">The last seq read (usually <see cref="RoomSubscription.LastSeq"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when stored.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>validation_failed</c>.</exception>
    public Task MarkReadAsync(string room, long seq, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        return InvokeAsync<object?>(HubMethods.MarkRead, [NormalizeRoom(room), seq], cancellationToken);
    }

    /// <summary>
    /// Searches the messages of the rooms the user may read (<c>GET /api/search</c>, over HTTP: no connection needed):
    /// every word of <paramref name="query"/> must match a word of the text, ignoring case and diacritics; deleted
    /// messages are never found.
    /// </summary>
    /// <param name="query">The words.</param>
    /// <param name="room">Only this room, or <see langword="null"/> for every readable room.</param>
    /// <param name="limit">The page size (<see cref="ServerLimits.DefaultSearchPageSize"/> when <see langword="null"/>).</param>
    /// <param name="before">The id of the last result of the previous page: only older results follow.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages, newest first.</returns>
    /// <exception cref="ChitChatException"><c>validation_failed</c>, <c>room_not_found</c>, <c>forbidden</c>.</exception>
    public async Task<IReadOnlyList<MessageDto>> SearchAsync(string query, string? room = null, int? limit = null, Guid? before = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var parts = new List<string>(4) { "q=" + Uri.EscapeDataString(query) };
        if (room is not null)
        {
            parts.Add("room=" + Uri.EscapeDataString(NormalizeRoom(room)));
        }

        if (limit is { } l)
        {
            parts.Add("limit=" + l.ToString(CultureInfo.InvariantCulture));
        }

        if (before is { } b)
        {
            parts.Add("before=" + b.ToString("D"));
        }

        var path = ChitChatRoutes.Search + "?" + string.Join('&', parts);
        return await SendHttpAsync<List<MessageDto>>(HttpMethod.Get, path, null, authenticated: true, cancellationToken).ConfigureAwait(false);
    }
}
