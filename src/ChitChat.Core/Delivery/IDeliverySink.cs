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
    /// gap and no duplicate; <see cref="PresenceChanged"/>, <see cref="UserTyping"/> and <see cref="MembershipChanged"/> (the
    /// <c>member</c> event; for a removal, after the removed user's connections left the room) as they come). Called only while the
    /// sink has at least one connection in the room. Must not block: start the writes and return, so that a slow connection
    /// never delays the room.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="roomEvent">The event.</param>
    void Deliver(string room, RoomEvent roomEvent);

    /// <summary>
    /// Tells connections of this sink that they were taken out of a room because their user was removed or banned (the
    /// <c>removed</c> event, to exactly these connections). Called inside the room's ordered step, after
    /// <see cref="RemoveAsync"/> of each of them and before the room's next event: nothing of the room follows it. The
    /// connections stay open. Must not block.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="connections">The connections, already removed from the room's audience.</param>
    /// <param name="reason">Why (<c>removed</c>, <c>banned</c>, <c>left</c> or a moderator's reason).</param>
    void DeliverRemoved(string room, IReadOnlyList<ClientConnection> connections, string reason);
}
