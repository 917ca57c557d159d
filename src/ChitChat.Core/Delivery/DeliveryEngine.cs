using ChitChat.Contracts;

namespace ChitChat.Delivery;

/// <summary>
/// The one owner of what a connection receives: the node's transport subscription of each room with local members,
/// ordering by <c>seq</c>, duplicate removal, gap filling from the store, the join boundary and catch-up, local
/// membership and presence on join and leave. It writes to sinks (<see cref="IDeliverySink"/>: the SignalR hub's groups,
/// legacy sockets); hubs and endpoints call it and never re-implement any of it.
/// </summary>
/// <remarks>
/// <para>
/// Shaped like SignalR's <c>HubLifetimeManager</c>: this abstract contract lives in Core with its default,
/// <see cref="DefaultDeliveryEngine"/>, beside it. Scale-out does not need another engine: the default engine runs on
/// every node over the configured <c>IChatTransport</c> (in-process for one node, Redis for many). Every implementation
/// must pass the delivery specification suite (<c>ChitChat.Specification.Tests</c>, <c>DeliveryEngineSpecification</c>).
/// </para>
/// <para>
/// The guarantee: a connection that joins a room with the last <c>seq</c> it saw receives every later event of the room's
/// sequence (<see cref="ChitChat.Transport.MessagePosted"/> and <see cref="ChitChat.Transport.MessageUpdated"/>) exactly once
/// and in <c>seq</c> order, part in <see cref="RoomJoin.Missed"/> and <see cref="RoomJoin.Updates"/> and the rest live through its sink,
/// whether the transport reordered, duplicated or lost events.
/// </para>
/// </remarks>
public abstract class DeliveryEngine
{
    /// <summary>
    /// Makes <paramref name="connection"/> a local member of a room and returns what it missed: every message with
    /// <c>AfterSeq &lt; seq &lt;= </c><see cref="RoomJoin.LastSeq"/> (capped, then <see cref="RoomJoin.HasMore"/>), or the
    /// latest <see cref="RoomJoinRequest.RecentLimit"/> messages without <see cref="RoomJoinRequest.AfterSeq"/>. Every message
    /// after <see cref="RoomJoin.LastSeq"/> reaches the connection live through its sink, possibly before this returns.
    /// Joining a room the connection is already in returns a fresh catch-up and changes nothing else. A connection's joins
    /// and leaves apply in the order they are called.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <param name="request">The room (validated, existing: the caller checks access) and the position.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The join result.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> (negative <c>AfterSeq</c>),
    /// <see cref="ChatErrorCodes.TooManyRooms"/>, <see cref="ChatErrorCodes.Forbidden"/> when the user was removed from the room
    /// (<see cref="ChitChat.Transport.MembershipChanged"/>) while the join was under way, or <see cref="ChatErrorCodes.Unavailable"/>
    /// when the store does not answer.</exception>
    public abstract Task<RoomJoin> JoinAsync(ClientConnection connection, RoomJoinRequest request, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="connection"/> from a room: nothing of the room reaches it afterwards. Leaving a room
    /// the connection is not in does nothing.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="room">The room.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the connection has left.</returns>
    public abstract Task LeaveAsync(ClientConnection connection, RoomName room, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes a connection to its user's channel (<see cref="ChitChat.Transport.UserChannels.For"/>): from then on it
    /// receives the events addressed to its user on every node, whatever rooms it joined (a <see cref="ChitChat.Transport.ReadMarkerMoved"/>
    /// unless it is the connection that moved the marker, every <see cref="ChitChat.Transport.UserMentioned"/>), until it is
    /// disconnected. Calling it again does nothing. Hosts call it when an authenticated connection opens.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the connection receives its user's events.</returns>
    public virtual Task ConnectAsync(ClientConnection connection, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Removes a closed connection from every room it joined (and from its user's channel); later joins of it fail. Called by the sink's host when
    /// the connection ends (it takes no token: it must run to completion).</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>A task that completes when the connection is gone from every room.</returns>
    public abstract Task DisconnectAsync(ClientConnection connection);

    /// <summary>Gets the number of local connections in a room on this node (0 when the node holds no state for it).</summary>
    /// <param name="room">The room name (normalized).</param>
    /// <returns>The count.</returns>
    public abstract int CountLocalMembers(string room);
}

/// <summary>What a connection asks for when it joins a room.</summary>
/// <param name="Room">The room, known to exist (the caller has checked access).</param>
/// <param name="AfterSeq">The last <c>seq</c> the connection has, or <see langword="null"/> when it has nothing.</param>
/// <param name="RecentLimit">Without <paramref name="AfterSeq"/>: how many of the latest messages to return.</param>
public sealed record RoomJoinRequest(RoomName Room, long? AfterSeq, int RecentLimit = 50);

/// <summary>The result of <see cref="DeliveryEngine.JoinAsync"/>.</summary>
/// <param name="Room">The room name.</param>
/// <param name="LastSeq">The join boundary: every message up to it is in <paramref name="Missed"/> or was there before
/// <c>AfterSeq</c>; every later one arrives live.</param>
/// <param name="Missed">The new messages the connection missed (current state), ascending by <c>seq</c>.</param>
/// <param name="HasMore">Whether messages before the boundary were left out (page them with history).</param>
public sealed record RoomJoin(string Room, long LastSeq, IReadOnlyList<ChatMessage> Missed, bool HasMore)
{
    /// <summary>Gets the update events the connection missed, ascending by their <c>seq</c>: with <see cref="Missed"/> every event
    /// with <c>AfterSeq &lt; seq &lt;= </c><see cref="LastSeq"/> (up to the cap). Empty for a join without <c>AfterSeq</c>.</summary>
    public IReadOnlyList<MessageEvent> Updates { get; init; } = [];
}
