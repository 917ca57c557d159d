using ChitChat.Contracts;
using ChitChat.Membership;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;

namespace ChitChat.ReadState;

/// <summary>
/// Read markers (protocol version 2's read state): per user and room, the last <c>seq</c> the user has read on any device.
/// A marker moves forward only, a <c>seq</c> beyond the room's last one is clamped to it, and when it moves the user's
/// other connections (every node) get a <c>read</c> event through the user's transport channel, so every device agrees.
/// Sending never moves the sender's marker. The unread and mention counts of the room list are derived from the marker by
/// the store (<see cref="RoomListEntry.Unread"/>).
/// </summary>
public sealed partial class ReadStateService
{
    private readonly IChatStore _store;
    private readonly IChatTransport _transport;
    private readonly MembershipService _membership;
    private readonly TimeProvider _time;
    private readonly ILogger<ReadStateService> _logger;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="transport">The transport (the user channels, <see cref="UserChannels"/>).</param>
    /// <param name="membership">The membership rules (who may read a room).</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public ReadStateService(IChatStore store, IChatTransport transport, MembershipService membership, TimeProvider time, ILogger<ReadStateService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _transport = transport;
        _membership = membership;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Moves the caller's read marker in a room forward to <paramref name="seq"/> (clamped to the room's last <c>seq</c>; a
    /// lower one than the marker changes nothing). When it moves, the caller's connections other than
    /// <paramref name="exceptConnectionId"/> get a <c>read</c> event.
    /// </summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room (one the caller may read).</param>
    /// <param name="seq">The last <c>seq</c> read.</param>
    /// <param name="exceptConnectionId">The connection that marked (it is not told), or <see langword="null"/> (HTTP: every connection is told).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The marker after the call.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> (a negative <c>seq</c>),
    /// <see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/> (banned) or <see cref="ChatErrorCodes.Unavailable"/>.</exception>
    public async Task<ReadMarker> MarkReadAsync(ChatIdentity user, RoomName room, long? seq, string? exceptConnectionId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (seq is not { } requested || requested < 0)
        {
            throw ChatException.Validation("seq", "seq is required and must not be negative.");
        }

        await _membership.DemandAsync(user, room, RoomOperation.Read, cancellationToken).ConfigureAwait(false);
        var lastSeq = await _store.Messages.GetLastSeqAsync(room.Value, cancellationToken).ConfigureAwait(false);
        var clamped = Math.Min(requested, lastSeq);
        var (marker, moved) = await _store.ReadState.MarkReadAsync(room.Value, user.UserId, clamped, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (moved)
        {
            LogMoved(room.Value, user.UserId, marker.Seq);
            try
            {
                // Durable already: the other devices must hear of it even when the caller has gone away.
                await _transport.PublishAsync(new ReadMarkerMoved(user.UserId, room.Value, marker.Seq, exceptConnectionId), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogPublishFailed(room.Value, user.UserId, ex);
            }
        }

        return marker;
    }

    /// <summary>Gets the caller's read marker in a room (0 when the caller never marked it read).</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room (one the caller may read).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The last <c>seq</c> read.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> or <see cref="ChatErrorCodes.Forbidden"/>.</exception>
    public async Task<long> GetReadSeqAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await _membership.DemandAsync(user, room, RoomOperation.Read, cancellationToken).ConfigureAwait(false);
        var marker = await _store.ReadState.FindAsync(room.Value, user.UserId, cancellationToken).ConfigureAwait(false);
        return marker?.Seq ?? 0;
    }

    [LoggerMessage(EventId = 1411, EventName = "ReadMarkerMoved", Level = LogLevel.Debug, Message = "Room {Room}: user {UserId} read up to seq {Seq}.")]
    private partial void LogMoved(string room, Guid userId, long seq);

    [LoggerMessage(EventId = 1412, EventName = "ReadPublishFailed", Level = LogLevel.Warning, Message = "Room {Room}: publishing user {UserId}'s read marker failed; their other devices see it on the next room list.")]
    private partial void LogPublishFailed(string room, Guid userId, Exception exception);
}
