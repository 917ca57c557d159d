using ChitChat.Rooms;
using ChitChat.Storage;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.History;

/// <summary>
/// Reads a room's messages from the store: pages of history, the most recent messages up to a boundary, and the catch-up
/// of what a client missed. Every read is ascending by <c>seq</c>, and every argument is validated here (not by the hosts),
/// so the hub and the HTTP API answer a bad query with the same error.
/// </summary>
public sealed class HistoryService
{
    private readonly IChatStore _store;
    private readonly RoomService _rooms;
    private readonly ChitChatOptions _options;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="rooms">The rooms.</param>
    /// <param name="options">The options.</param>
    public HistoryService(IChatStore store, RoomService rooms, IOptions<ChitChatOptions> options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rooms);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _rooms = rooms;
        _options = options.Value;
    }

    /// <summary>Reads a page of history, ascending by sequence number.</summary>
    /// <param name="room">The room.</param>
    /// <param name="query">The page.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> (naming <c>limit</c>, <c>before</c> or
    /// <c>after</c>) or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(RoomName room, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1)
        {
            throw ChatException.Validation("limit", "limit must be at least 1.");
        }

        if (query.BeforeSeq is < 1)
        {
            throw ChatException.Validation("before", "before must be at least 1.");
        }

        if (query.AfterSeq is < 0)
        {
            throw ChatException.Validation("after", "after must not be negative.");
        }

        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        var pageSize = Math.Min(query.Limit ?? _options.DefaultHistoryPageSize, _options.MaxHistoryPageSize);
        return await _store.Messages.QueryAsync(room.Value, new MessageQuery(query.AfterSeq, query.BeforeSeq, pageSize), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the most recent messages up to and including <paramref name="upToSeq"/>: what a client that joins without a
    /// position is shown (older ones through <see cref="GetHistoryAsync"/>).
    /// </summary>
    /// <param name="room">The room.</param>
    /// <param name="upToSeq">The last sequence number to return (e.g. the join boundary, after which messages arrive live).</param>
    /// <param name="limit">How many messages at most; 0 for none.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages, ascending.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<IReadOnlyList<ChatMessage>> GetRecentAsync(RoomName room, long upToSeq, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (upToSeq < 0)
        {
            throw ChatException.Validation("upToSeq", "upToSeq must not be negative.");
        }

        if (limit < 0)
        {
            throw ChatException.Validation("limit", "limit must not be negative.");
        }

        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        if (limit == 0 || upToSeq == 0)
        {
            return [];
        }

        return await _store.Messages.QueryAsync(room.Value, new MessageQuery(null, upToSeq + 1, limit), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads what a client missed: every message after <paramref name="afterSeq"/> up to the room's last one, capped at <see cref="ChitChatOptions.CatchUpLimit"/>.</summary>
    /// <param name="room">The room.</param>
    /// <param name="afterSeq">The last sequence number the client saw (0 or <see langword="null"/> for none).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The catch-up.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public Task<CatchUpResult> CatchUpAsync(RoomName room, long? afterSeq, CancellationToken cancellationToken) =>
        CatchUpAsync(room, afterSeq, null, cancellationToken);

    /// <summary>
    /// Reads what a client missed: every message after <paramref name="afterSeq"/> up to and including
    /// <paramref name="upToSeq"/> (by default the room's last one), capped at <see cref="ChitChatOptions.CatchUpLimit"/>
    /// (then <see cref="CatchUpResult.HasMore"/>). A host that delivers everything after a known boundary live (the hub's
    /// <c>JoinRoom</c>) passes that boundary, so catch-up and live delivery meet without a gap or an overlap.
    /// </summary>
    /// <param name="room">The room.</param>
    /// <param name="afterSeq">The last sequence number the client saw (0 or <see langword="null"/> for none).</param>
    /// <param name="upToSeq">The last sequence number to return, or <see langword="null"/> for the room's last one; it is the
    /// result's <see cref="CatchUpResult.LastSeq"/>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The catch-up.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<CatchUpResult> CatchUpAsync(RoomName room, long? afterSeq, long? upToSeq = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (afterSeq is < 0)
        {
            throw ChatException.Validation("afterSeq", "afterSeq must not be negative.");
        }

        if (upToSeq is < 0)
        {
            throw ChatException.Validation("upToSeq", "upToSeq must not be negative.");
        }

        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        var lastSeq = upToSeq ?? await _store.Messages.GetLastSeqAsync(room.Value, cancellationToken).ConfigureAwait(false);
        var after = afterSeq ?? 0;
        if (after >= lastSeq)
        {
            return new CatchUpResult(room.Value, lastSeq, [], false);
        }

        // The room's events, not only its messages: updates take seqs too, and a client that joins with the last seq it saw
        // gets every later event exactly once (the updates beside the new messages), each message in its current state.
        var events = await RoomEventReader.ReadAsync(_store.Messages, room.Value, after, lastSeq, _options.CatchUpLimit, cancellationToken).ConfigureAwait(false);
        var missed = new List<ChatMessage>(events.Count);
        var updates = new List<MessageEvent>();
        foreach (var e in events)
        {
            if (e.Kind == MessageEventKind.Posted)
            {
                missed.Add(e.Message);
            }
            else
            {
                updates.Add(e);
            }
        }

        var hasMore = events.Count > 0 ? events[^1].Seq < lastSeq : lastSeq > after;
        return new CatchUpResult(room.Value, lastSeq, missed, hasMore) { Updates = updates };
    }

    /// <summary>
    /// Reads a page of the room's event sequence after <paramref name="afterSeq"/>: new messages and updates, ascending by
    /// <c>seq</c>, each message in its current state (the page after a capped catch-up).
    /// </summary>
    /// <param name="room">The room (the caller has checked access).</param>
    /// <param name="afterSeq">The last <c>seq</c> the client has (0 for the start).</param>
    /// <param name="limit">The page size (<see cref="ChitChatOptions.DefaultEventsPageSize"/> when <see langword="null"/>;
    /// reduced to <see cref="ChitChatOptions.MaxEventsPageSize"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The events.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> (naming <c>after</c> or <c>limit</c>) or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<IReadOnlyList<MessageEvent>> GetEventsAsync(RoomName room, long? afterSeq, int? limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (afterSeq is < 0)
        {
            throw ChatException.Validation("after", "after must not be negative.");
        }

        if (limit is < 1)
        {
            throw ChatException.Validation("limit", "limit must be at least 1.");
        }

        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        var pageSize = Math.Min(limit ?? _options.DefaultEventsPageSize, _options.MaxEventsPageSize);
        return await _store.Messages.ReadEventsAsync(room.Value, afterSeq ?? 0, long.MaxValue, pageSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a thread: the replies of a root message (the whole thread, replies to replies included, deleted ones as
    /// tombstones), ascending by <c>seq</c>. Asking for the replies of a reply is <c>validation_failed</c>: a thread is
    /// listed from its root (<see cref="ChatMessage.ThreadRoot"/>).
    /// </summary>
    /// <param name="room">The room (the caller has checked access).</param>
    /// <param name="rootId">The root message.</param>
    /// <param name="afterSeq">Only replies with a higher <c>seq</c>.</param>
    /// <param name="limit">The page size (history's default and maximum).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The replies.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.RoomNotFound"/>
    /// or <see cref="ChatErrorCodes.MessageNotFound"/>.</exception>
    public async Task<IReadOnlyList<ChatMessage>> GetRepliesAsync(RoomName room, Guid rootId, long? afterSeq, int? limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (afterSeq is < 0)
        {
            throw ChatException.Validation("after", "after must not be negative.");
        }

        if (limit is < 1)
        {
            throw ChatException.Validation("limit", "limit must be at least 1.");
        }

        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        var root = await _store.Messages.FindAsync(room.Value, rootId, cancellationToken).ConfigureAwait(false)
            ?? throw Messaging.MessageOperations.MessageNotFound(rootId);
        if (root.ThreadRoot is { } threadRoot)
        {
            throw ChatException.Validation("id", $"The message is a reply; its thread is listed from its root '{threadRoot}'.");
        }

        var pageSize = Math.Min(limit ?? _options.DefaultHistoryPageSize, _options.MaxHistoryPageSize);
        return await _store.Messages.QueryThreadAsync(room.Value, rootId, afterSeq, pageSize, cancellationToken).ConfigureAwait(false);
    }
}
