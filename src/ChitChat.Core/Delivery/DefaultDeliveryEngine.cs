using System.Collections.Concurrent;
using System.Globalization;
using ChitChat.Diagnostics;
using ChitChat.History;
using ChitChat.Presence;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Delivery;

/// <summary>
/// The default <see cref="DeliveryEngine"/>: one ordered pump per room with local members, fed by the node's transport
/// subscription of that room, writing to the sinks of the room's members.
/// </summary>
/// <remarks>
/// <para>
/// <b>One subscription per room per node.</b> The first local connection that joins a room subscribes the node to it on
/// the transport; the last one to leave unsubscribes and the room's state is dropped. Each event is handed once to each
/// sink that has members in the room (the SignalR sink sends it to the room's group, so SignalR serializes it once per
/// hub protocol, never per recipient), and the store is never read per recipient.
/// </para>
/// <para>
/// <b>An ordered pump per room.</b> Transport callbacks only enqueue; one loop per room delivers in order and remembers the
/// last delivered <c>seq</c>. A message at or below it is a duplicate and is dropped. A message beyond the next one is held:
/// concurrent senders publish in the order their appends complete, not in <c>seq</c> order, so the missing one is usually
/// a few microseconds behind, and held messages go out as soon as the gap closes. Only when the gap stays open for
/// <see cref="DeliveryOptions.ReorderWindow"/> (or <see cref="DeliveryOptions.MaxHeldMessages"/> are held) has the
/// transport lost something: the pump reads the missing range from the store once and delivers it in order. When the
/// transport reports <see cref="TransportResumed"/> (it may have lost events of a quiet room, where no later message would
/// reveal the gap), the pump compares with the store's last <c>seq</c> and delivers what is missing.
/// </para>
/// <para>
/// <b>Joins run inside the pump.</b> Adding a connection to its sink and reading the pump's last delivered <c>seq</c> are
/// one step of the pump, so that boundary splits the room exactly: everything up to it comes from the store (the join's
/// catch-up), everything after it live. A client may receive a live event before its join result and must buffer by
/// <c>seq</c>.
/// </para>
/// <para>
/// <b>Slow connections never delay others.</b> The pump hands an event to each sink and does not wait for the sockets:
/// a sink starts its writes and returns (SignalR writes to each connection in call order behind that connection's bounded
/// pipe and drops a connection that stops answering; the legacy sink sheds a connection whose bounded queue is full).
/// </para>
/// </remarks>
internal sealed partial class DefaultDeliveryEngine : DeliveryEngine, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RoomPump> _rooms = new(StringComparer.Ordinal);
    private readonly IChatTransport _transport;
    private readonly IChatStore _store;
    private readonly PresenceService _presence;
    private readonly HistoryService _history;
    private readonly DeliveryOptions _delivery;
    private readonly ChitChatMetrics _metrics;
    private readonly ILogger<DefaultDeliveryEngine> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public DefaultDeliveryEngine(
        IChatTransport transport,
        IChatStore store,
        PresenceService presence,
        HistoryService history,
        IOptions<DeliveryOptions> delivery,
        ChitChatMetrics metrics,
        ILogger<DefaultDeliveryEngine> logger,
        TimeProvider time)
    {
        _transport = transport;
        _store = store;
        _presence = presence;
        _history = history;
        _delivery = delivery.Value;
        _metrics = metrics;
        _logger = logger;
        _time = time;
    }

    /// <summary>Gets the number of rooms this node holds delivery state for (for tests and diagnostics).</summary>
    internal int RoomCount => _rooms.Count;

    /// <inheritdoc />
    public override async Task<RoomJoin> JoinAsync(ClientConnection connection, RoomJoinRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(request);
        if (request.AfterSeq is < 0)
        {
            throw ChatException.Validation("afterSeq", "afterSeq must not be negative.");
        }

        if (request.RecentLimit < 0)
        {
            throw ChatException.Validation("recentLimit", "recentLimit must not be negative.");
        }

        await connection.Membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A removal's exit (presence, the room's release) finishes before the connection enters a room again.
            Task removals;
            lock (connection.Joined)
            {
                removals = connection.Removals;
            }

            await removals.ConfigureAwait(false);
            var boundary = await EnterAsync(connection, request.Room, cancellationToken).ConfigureAwait(false);
            return await CatchUpAsync(request, boundary, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.Membership.Release();
        }
    }

    /// <inheritdoc />
    public override async Task LeaveAsync(ClientConnection connection, RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(room);
        await connection.Membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (connection.Joined)
            {
                if (!connection.Joined.Remove(room))
                {
                    return;
                }
            }

            await ExitAsync(connection, room).ConfigureAwait(false);
        }
        finally
        {
            connection.Membership.Release();
        }
    }

    /// <inheritdoc />
    public override async Task ConnectAsync(ClientConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.User.UserId == Guid.Empty)
        {
            return; // anonymous connections (legacy sockets) have no user channel
        }

        await connection.Membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (connection.Joined)
            {
                if (connection.Closed)
                {
                    throw new OperationCanceledException("The connection is closed.", cancellationToken);
                }

                if (connection.InUserChannel)
                {
                    return;
                }
            }

            // The user's channel is a room of the engine without a sequence: the same subscription per node, acquired by the
            // first local connection of the user and released by the last, and the same sink add and remove in its pump.
            var pump = await AcquireAsync(UserChannels.For(connection.User.UserId), cancellationToken).ConfigureAwait(false);
            try
            {
                await pump.JoinAsync(connection, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await pump.LeaveAsync(connection).ConfigureAwait(false);
                await ReleaseAsync(pump).ConfigureAwait(false);
                throw;
            }

            lock (connection.Joined)
            {
                connection.InUserChannel = true;
            }
        }
        finally
        {
            connection.Membership.Release();
        }
    }

    /// <inheritdoc />
    public override async Task DisconnectAsync(ClientConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        bool counted;
        lock (connection.Joined)
        {
            connection.Closed = true; // a join waiting for the gate fails instead of joining a closed connection
            counted = connection.Counted;
            connection.Counted = false;
        }

        if (counted)
        {
            _metrics.Connections.Add(-1, new KeyValuePair<string, object?>("sink", ChitChatMetrics.SinkTag(connection.Sink)));
        }

        await connection.Membership.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            RoomName[] joined;
            bool inUserChannel;
            lock (connection.Joined)
            {
                joined = [.. connection.Joined];
                connection.Joined.Clear();
                inUserChannel = connection.InUserChannel;
                connection.InUserChannel = false;
            }

            foreach (var room in joined)
            {
                await ExitAsync(connection, room).ConfigureAwait(false);
            }

            if (inUserChannel && _rooms.TryGetValue(UserChannels.For(connection.User.UserId), out var channel))
            {
                await channel.LeaveAsync(connection).ConfigureAwait(false);
                await ReleaseAsync(channel).ConfigureAwait(false);
            }
        }
        finally
        {
            connection.Membership.Release();
        }
    }

    /// <inheritdoc />
    public override int CountLocalMembers(string room) => _rooms.TryGetValue(room, out var pump) ? pump.MemberCount : 0;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // registered under two service types: disposed once
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var pump in _rooms.Values)
        {
            await pump.StopAsync().ConfigureAwait(false);
        }

        _rooms.Clear();
        _stopping.Dispose();
    }

    /// <summary>Makes the connection a member (acquiring the room on first join) and returns the join boundary.</summary>
    private async Task<long> EnterAsync(ClientConnection connection, RoomName roomName, CancellationToken cancellationToken)
    {
        var room = roomName.Value;
        bool isNew;
        lock (connection.Joined)
        {
            if (connection.Closed)
            {
                throw new OperationCanceledException("The connection is closed.", cancellationToken);
            }

            isNew = !connection.Joined.Contains(roomName);
            if (isNew && connection.Joined.Count >= connection.MaxRooms)
            {
                throw new ChatException(ChatErrorCodes.TooManyRooms, string.Create(CultureInfo.InvariantCulture, $"A connection may join at most {connection.MaxRooms} rooms."));
            }
        }

        RoomPump pump;
        if (isNew)
        {
            pump = await AcquireAsync(room, cancellationToken).ConfigureAwait(false);
            bool closed;
            var first = false;
            lock (connection.Joined)
            {
                // Recorded only once acquired, so that leaving releases exactly what was acquired.
                closed = connection.Closed;
                if (!closed)
                {
                    connection.Joined.Add(roomName);
                    first = !connection.Counted;
                    connection.Counted = true;
                }
            }

            if (first)
            {
                _metrics.Connections.Add(1, new KeyValuePair<string, object?>("sink", ChitChatMetrics.SinkTag(connection.Sink)));
            }

            if (closed)
            {
                await ReleaseAsync(pump).ConfigureAwait(false);
                throw new OperationCanceledException("The connection is closed.", cancellationToken);
            }
        }
        else if (!_rooms.TryGetValue(room, out pump!))
        {
            throw new InvalidOperationException($"Room {room} is joined but holds no delivery state.");
        }

        long boundary;
        try
        {
            boundary = await pump.JoinAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        catch when (isNew)
        {
            bool owned;
            lock (connection.Joined)
            {
                owned = connection.Joined.Remove(roomName);
            }

            if (owned)
            {
                await pump.LeaveAsync(connection).ConfigureAwait(false);
                await ReleaseAsync(pump).ConfigureAwait(false);
            }

            throw;
        }

        if (isNew && connection.AnnouncesPresence)
        {
            await _presence.EnterRoomAsync(roomName, connection.ConnectionId, connection.User, cancellationToken).ConfigureAwait(false);
        }

        return boundary;
    }

    /// <summary>Removes a member that the caller has already taken out of <see cref="ClientConnection.Joined"/>.</summary>
    private async Task ExitAsync(ClientConnection connection, RoomName room)
    {
        if (_rooms.TryGetValue(room.Value, out var pump))
        {
            await pump.LeaveAsync(connection).ConfigureAwait(false);
            await ReleaseAsync(pump).ConfigureAwait(false);
        }

        if (!connection.AnnouncesPresence)
        {
            return;
        }

        try
        {
            await _presence.ExitRoomAsync(room, connection.ConnectionId, connection.User, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            // Presence is best effort on the way out (e.g. the presence store is unreachable); it expires elsewhere.
            LogPresenceExitFailed(room.Value, ex);
        }
    }

    /// <summary>
    /// Called by a room's pump, in its step, for a connection it took out of the room because its user was removed or
    /// banned: the connection is no longer in the room (a later join of it is a new join), and, off the pump, the exit
    /// completes as if it had left: the room's acquisition is released and the user goes offline in the room when this was
    /// their last connection. Never blocks the pump.
    /// </summary>
    private void CompleteRemoval(ClientConnection connection, RoomPump pump)
    {
        lock (connection.Joined)
        {
            var roomName = connection.Joined.FirstOrDefault(joined => string.Equals(joined.Value, pump.Room, StringComparison.Ordinal));
            if (roomName is null)
            {
                return; // leaving or closing already: that exit releases the room and records presence
            }

            connection.Joined.Remove(roomName);
            connection.Removals = ExitRemovedAsync(connection.Removals, connection, roomName, pump);
        }
    }

    private async Task ExitRemovedAsync(Task previous, ClientConnection connection, RoomName room, RoomPump pump)
    {
        await previous.ConfigureAwait(false);
        await Task.Yield(); // off the pump's step
        try
        {
            await ReleaseAsync(pump).ConfigureAwait(false);
            if (connection.AnnouncesPresence)
            {
                await _presence.ExitRoomAsync(room, connection.ConnectionId, connection.User, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Presence is best effort on the way out (e.g. the presence store is unreachable); it expires elsewhere.
            LogPresenceExitFailed(room.Value, ex);
        }
    }

    /// <summary>Reads what the connection missed up to the boundary (the history service pages the store); everything after
    /// the boundary arrives live.</summary>
    private async Task<RoomJoin> CatchUpAsync(RoomJoinRequest request, long boundary, CancellationToken cancellationToken)
    {
        if (request.AfterSeq is null)
        {
            // No position: the most recent messages up to the boundary (older ones through history).
            var recent = await _history.GetRecentAsync(request.Room, boundary, request.RecentLimit, cancellationToken).ConfigureAwait(false);
            return new RoomJoin(request.Room.Value, boundary, recent, recent.Count > 0 ? recent[0].Seq > 1 : boundary > 0);
        }

        var catchUp = await _history.CatchUpAsync(request.Room, request.AfterSeq, boundary, cancellationToken).ConfigureAwait(false);
        return new RoomJoin(request.Room.Value, boundary, catchUp.Missed, catchUp.HasMore) { Updates = catchUp.Updates };
    }

    /// <summary>Counts one more local member of the room; the first one subscribes the node to it.</summary>
    private async Task<RoomPump> AcquireAsync(string room, CancellationToken cancellationToken)
    {
        while (true)
        {
            var pump = _rooms.GetOrAdd(room, static (r, engine) => new RoomPump(engine, r), this);
            if (await pump.AcquireAsync(cancellationToken).ConfigureAwait(false))
            {
                return pump;
            }

            // The pump was retired by a concurrent last leave between the lookup and the acquisition: take a fresh one.
            _rooms.TryRemove(new KeyValuePair<string, RoomPump>(room, pump));
        }
    }

    /// <summary>Counts one member fewer; the last one unsubscribes the node and drops the room's state.</summary>
    private async Task ReleaseAsync(RoomPump pump)
    {
        if (await pump.ReleaseAsync().ConfigureAwait(false))
        {
            _rooms.TryRemove(new KeyValuePair<string, RoomPump>(pump.Room, pump));
        }
    }

    [LoggerMessage(EventId = 1101, EventName = "RoomSubscribed", Level = LogLevel.Debug, Message = "Node subscribed to room {Room}.")]
    private partial void LogSubscribed(string room);

    [LoggerMessage(EventId = 1102, EventName = "RoomUnsubscribed", Level = LogLevel.Debug, Message = "Node unsubscribed from room {Room}; its delivery state is dropped.")]
    private partial void LogUnsubscribed(string room);

    [LoggerMessage(EventId = 1103, EventName = "GapDetected", Level = LogLevel.Information, Message = "Room {Room}: the store has seq {Seq} after the delivered {LastDelivered}; filling the gap from the store.")]
    private partial void LogGap(string room, long seq, long lastDelivered);

    [LoggerMessage(EventId = 1104, EventName = "GapFillFailed", Level = LogLevel.Warning, Message = "Room {Room}: the store could not fill the gap after seq {LastDelivered}; delivering seq {Seq} anyway (clients page the rest with history).")]
    private partial void LogGapFillFailed(string room, long lastDelivered, long seq, Exception? exception);

    [LoggerMessage(EventId = 1105, EventName = "DeliveryFailed", Level = LogLevel.Warning, Message = "Room {Room}: a sink failed to take an event.")]
    private partial void LogDeliveryFailed(string room, Exception exception);

    [LoggerMessage(EventId = 1106, EventName = "PumpItemFailed", Level = LogLevel.Error, Message = "Room {Room}: the delivery pump failed to process an item.")]
    private partial void LogPumpItemFailed(string room, Exception exception);

    [LoggerMessage(EventId = 1107, EventName = "PumpInitFailed", Level = LogLevel.Warning, Message = "Room {Room}: reading the last seq from the store failed; delivering live events without gap detection until it answers.")]
    private partial void LogInitFailed(string room, Exception exception);

    [LoggerMessage(EventId = 1108, EventName = "RoomReconciled", Level = LogLevel.Information, Message = "Room {Room}: the transport resumed; reconciled with the store up to seq {Seq}.")]
    private partial void LogReconciled(string room, long seq);

    [LoggerMessage(EventId = 1110, EventName = "MemberRemoved", Level = LogLevel.Information, Message = "Room {Room}: user {UserId} was removed; {Connections} local connection(s) taken out of the room.")]
    private partial void LogMemberRemoved(string room, Guid userId, int connections);

    [LoggerMessage(EventId = 1109, EventName = "PresenceExitFailed", Level = LogLevel.Debug, Message = "Room {Room}: recording a connection's exit in presence failed; it expires elsewhere.")]
    private partial void LogPresenceExitFailed(string room, Exception exception);
}
