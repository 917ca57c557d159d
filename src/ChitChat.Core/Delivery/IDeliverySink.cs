using ChitChat.Transport;

namespace ChitChat.Delivery;

/// <summary>
/// Where the delivery engine writes a room's events for one kind of connection (the SignalR hub's groups, the legacy
/// sockets). The engine decides what each connection receives and when; a sink only writes. For each room the engine
/// calls a sink from one ordered step at a time, so a sink sees a room's events and membership changes in order.
/// </summary>
public interface IDeliverySink
{
    /// <summary>Adds a connection of this sink to a room's audience. Called inside the room's ordered step: events delivered
    /// after it reach the connection, none before it.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when added.</returns>
    ValueTask AddAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default);

    /// <summary>Removes a connection from a room's audience: nothing delivered afterwards reaches it.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when removed.</returns>
    ValueTask RemoveAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes an event to every connection of this sink in the room (a <see cref="MessagePosted"/> in <c>seq</c> order, with no
    /// gap and no duplicate; <see cref="PresenceChanged"/> and <see cref="UserTyping"/> as they come). Called only while the
    /// sink has at least one connection in the room. Must not block: start the writes and return, so that a slow connection
    /// never delays the room.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="roomEvent">The event.</param>
    void Deliver(string room, RoomEvent roomEvent);
}
