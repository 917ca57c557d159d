using System.Text.Json.Serialization;

namespace ChitChat.Transport;

/// <summary>An event in a room, fanned out between servers by an <see cref="IChatTransport"/>.</summary>
/// <param name="Room">The room name.</param>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(MessagePosted), "message")]
[JsonDerivedType(typeof(PresenceChanged), "presence")]
[JsonDerivedType(typeof(UserTyping), "typing")]
[JsonDerivedType(typeof(TransportResumed), "resumed")]
[JsonDerivedType(typeof(MembershipChanged), "member")]
[JsonDerivedType(typeof(MessageUpdated), "messageUpdated")]
[JsonDerivedType(typeof(ReadMarkerMoved), "read")]
[JsonDerivedType(typeof(UserMentioned), "mention")]
public abstract record RoomEvent(string Room);

/// <summary>A message was persisted in a room.</summary>
/// <param name="Message">The message.</param>
public sealed record MessagePosted(ChatMessage Message) : RoomEvent(Message.Room);

/// <summary>A message of a room changed (edited, deleted, its reactions) and the change took the room's sequence number
/// <paramref name="Seq"/>. The delivery engine orders it with <see cref="MessagePosted"/> by one sequence: the room's.</summary>
/// <param name="Seq">The update event's sequence number.</param>
/// <param name="Change">What changed.</param>
/// <param name="Message">The message after the change (its own <see cref="ChatMessage.Seq"/> is the one it was created with).</param>
public sealed record MessageUpdated(long Seq, MessageChange Change, ChatMessage Message) : RoomEvent(Message.Room);

/// <summary>
/// The transport channels of users (not rooms): events for every connection of one user, on every node, whatever rooms
/// the connections joined (<see cref="ReadMarkerMoved"/>, <see cref="UserMentioned"/>). A channel name starts with
/// <c>~</c>, which no room name can, so one transport carries both.
/// </summary>
public static class UserChannels
{
    /// <summary>The prefix of every user channel.</summary>
    public const string Prefix = "~user:";

    /// <summary>Gets the channel of a user.</summary>
    /// <param name="userId">The user.</param>
    /// <returns>The channel name, used as <see cref="RoomEvent.Room"/>.</returns>
    public static string For(Guid userId) => Prefix + userId.ToString("N", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether a <see cref="RoomEvent.Room"/> names a user channel.</summary>
    /// <param name="channel">The channel or room name.</param>
    /// <returns><see langword="true"/> for a user channel.</returns>
    public static bool IsUserChannel(string channel) => channel?.StartsWith(Prefix, StringComparison.Ordinal) == true;
}

/// <summary>A user's read marker moved forward (published on the user's channel): every connection of the user gets a
/// <c>read</c> event, except <paramref name="ExceptConnectionId"/>, the one that moved it.</summary>
/// <param name="UserId">The user.</param>
/// <param name="ChatRoom">The room whose marker moved.</param>
/// <param name="Seq">The marker's new position.</param>
/// <param name="ExceptConnectionId">The connection that marked the room read (it knows), or <see langword="null"/> (HTTP).</param>
public sealed record ReadMarkerMoved(Guid UserId, string ChatRoom, long Seq, string? ExceptConnectionId) : RoomEvent(UserChannels.For(UserId));

/// <summary>A message mentions a user (published on the user's channel): every connection of the user gets a
/// <c>mention</c> event, also where it has not joined the room.</summary>
/// <param name="UserId">The mentioned user.</param>
/// <param name="Message">The message.</param>
public sealed record UserMentioned(Guid UserId, ChatMessage Message) : RoomEvent(UserChannels.For(UserId));

/// <summary>A user came online in a room or went offline.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="Online"><see langword="true"/> when the user came online.</param>
public sealed record PresenceChanged(string Room, Guid UserId, string UserName, bool Online) : RoomEvent(Room);

/// <summary>A user is typing in a room. Receivers expire the indicator after a few seconds.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
public sealed record UserTyping(string Room, Guid UserId, string UserName) : RoomEvent(Room);

/// <summary>
/// Raised by a transport on the node itself, to a room's local subscribers, when events of the room may have been lost
/// and the transport works again (for example, Redis came back and the room was subscribed again). It is never
/// published to other nodes. The delivery engine answers it by reconciling the room with the store, so that clients of
/// a quiet room converge without waiting for the next message.
/// </summary>
/// <param name="Room">The room name.</param>
public sealed record TransportResumed(string Room) : RoomEvent(Room);

/// <summary>What changed about a member (the <c>change</c> of the protocol's <c>member</c> event).</summary>
public enum MemberChange
{
    /// <summary>The user became a member (joined, was added or invited).</summary>
    Added = 0,
    /// <summary>The user is no longer a member (left, or was removed by an owner or a moderator).</summary>
    Removed = 1,
    /// <summary>The member's role changed.</summary>
    Role = 2,
    /// <summary>The member was muted or the mute was lifted.</summary>
    Muted = 3,
    /// <summary>The user was removed and barred from rejoining.</summary>
    Banned = 4,
}

/// <summary>
/// A committed membership change in a room, published by the membership service after the store accepted it. Every node's
/// delivery engine sends the room's members a <c>member</c> event; for <see cref="MemberChange.Removed"/> and
/// <see cref="MemberChange.Banned"/> it also takes the user's local connections out of the room at once (they get
/// <c>removed</c> with <paramref name="Reason"/> and no later event of the room).
/// </summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The member's user id.</param>
/// <param name="UserName">The member's user name.</param>
/// <param name="Role">The member's role after the change (the last one, for a removal).</param>
/// <param name="Change">What changed.</param>
/// <param name="MutedUntil">When the member's mute ends, or <see langword="null"/> when not muted.</param>
/// <param name="Reason">Why the user was removed or banned (<c>left</c>, <c>removed</c>, <c>banned</c> or a moderator's reason), for the <c>removed</c> event.</param>
public sealed record MembershipChanged(string Room, Guid UserId, string UserName, MemberRole Role, MemberChange Change, DateTimeOffset? MutedUntil = null, string? Reason = null) : RoomEvent(Room);

/// <summary>Handles events of a subscribed room. Called on the transport's thread: do little and never block.</summary>
/// <param name="roomEvent">The event.</param>
/// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
/// <returns>A task that completes when the event is handled.</returns>
public delegate ValueTask RoomEventHandler(RoomEvent roomEvent, CancellationToken cancellationToken);

/// <summary>The health of a transport.</summary>
public enum TransportStatus
{
    /// <summary>Events reach every node.</summary>
    Healthy,
    /// <summary>Events reach this node only (e.g. Redis is unreachable); clients elsewhere fill gaps from history.</summary>
    Degraded,
}

/// <summary>
/// Server-to-server fan-out of room events: at-most-once and fast. Completeness comes from sequence numbers plus
/// history, not from the transport. Each published event reaches every subscriber of its room on every node (including
/// the publisher's own node) at most once.
/// </summary>
public interface IChatTransport
{
    /// <summary>Gets a short transport name for logs and health reports, e.g. <c>in-process</c>.</summary>
    string Name { get; }

    /// <summary>Gets the current status.</summary>
    TransportStatus Status { get; }

    /// <summary>Publishes an event to every subscriber of <see cref="RoomEvent.Room"/>.</summary>
    /// <param name="roomEvent">The event.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the event is handed over.</returns>
    ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default);

    /// <summary>Subscribes to a room. Events published after this returns are delivered until the returned handle is disposed.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default);
}
