using ChitChat.Rooms;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using ChitChat.Contracts;

namespace ChitChat.Presence;

/// <summary>
/// Who is online in a room (across nodes, through <see cref="IPresenceTracker"/>) and who is typing: records a connection
/// entering and leaving a room, announces a user coming online or going offline, and publishes typing indicators.
/// </summary>
/// <remarks>
/// Presence and typing are ephemeral and best effort: a publish that fails is logged, not thrown, because nothing is lost
/// that a receiver could fill in later (the online list is read on demand, a typing indicator expires on its own).
/// </remarks>
public sealed partial class PresenceService
{
    private readonly IPresenceTracker _tracker;
    private readonly IChatTransport _transport;
    private readonly RoomService _rooms;
    private readonly ILogger<PresenceService> _logger;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="tracker">The presence tracker.</param>
    /// <param name="transport">The transport.</param>
    /// <param name="rooms">The rooms.</param>
    /// <param name="logger">The logger.</param>
    public PresenceService(IPresenceTracker tracker, IChatTransport transport, RoomService rooms, ILogger<PresenceService> logger)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(rooms);
        ArgumentNullException.ThrowIfNull(logger);
        _tracker = tracker;
        _transport = transport;
        _rooms = rooms;
        _logger = logger;
    }

    /// <summary>Lists the users online in a room across all nodes.</summary>
    /// <param name="room">The room.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users, each once, ordered by user name.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<IReadOnlyList<OnlineUser>> GetOnlineAsync(RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        return await _tracker.GetOnlineAsync(room.Value, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Announces that a user is typing in a room.</summary>
    /// <param name="user">The user.</param>
    /// <param name="room">The room.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when published.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task TypingAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        await PublishQuietlyAsync(new UserTyping(room.Value, user.UserId, user.UserName), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks a connection of a user present in a room and announces the user when they came online.</summary>
    /// <param name="room">The room.</param>
    /// <param name="connectionId">The connection id.</param>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when recorded.</returns>
    public async Task EnterRoomAsync(RoomName room, string connectionId, ChatIdentity user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(connectionId);
        var online = new OnlineUser(user.UserId, user.UserName);
        if (await _tracker.JoinAsync(room.Value, connectionId, online, cancellationToken).ConfigureAwait(false))
        {
            await PublishQuietlyAsync(new PresenceChanged(room.Value, user.UserId, user.UserName, true), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Marks a connection of a user gone from a room and announces the user when they went offline.</summary>
    /// <param name="room">The room.</param>
    /// <param name="connectionId">The connection id.</param>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when recorded.</returns>
    public async Task ExitRoomAsync(RoomName room, string connectionId, ChatIdentity user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(connectionId);
        var online = new OnlineUser(user.UserId, user.UserName);
        if (await _tracker.LeaveAsync(room.Value, connectionId, online, cancellationToken).ConfigureAwait(false))
        {
            await PublishQuietlyAsync(new PresenceChanged(room.Value, user.UserId, user.UserName, false), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PublishQuietlyAsync(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        try
        {
            await _transport.PublishAsync(roomEvent, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPublishFailed(roomEvent.Room, 0, ex);
        }
    }

    // The same event as MessageSender's (one event for "a publish failed", whichever service published).
    [LoggerMessage(EventId = 1005, EventName = "PublishFailed", Level = LogLevel.Warning, Message = "Publishing an event of room {Room} (seq {Seq}) failed; receivers will fill the gap from history.")]
    private partial void LogPublishFailed(string room, long seq, Exception exception);
}
