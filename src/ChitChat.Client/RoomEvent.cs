using ChitChat.Contracts;

namespace ChitChat.Client;

/// <summary>
/// An event of a room's sequence, delivered by a <see cref="RoomSubscription"/> exactly once and in <see cref="Seq"/>
/// order. <see cref="MessageReceived"/> is the only kind today; later protocol versions add others (such as message
/// updates), so switch on the type and ignore kinds you do not know.
/// </summary>
/// <param name="Room">The room name (normalized, lower case).</param>
/// <param name="Seq">The event's sequence number in the room.</param>
public abstract record RoomEvent(string Room, long Seq);

/// <summary>A new message in the room.</summary>
/// <param name="Message">The message.</param>
public sealed record MessageReceived(MessageDto Message) : RoomEvent(Message?.Room ?? throw new ArgumentNullException(nameof(Message)), Message.Seq);
