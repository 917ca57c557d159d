using ChitChat.Contracts;

namespace ChitChat.Client;

/// <summary>
/// An event of a room's sequence, delivered by a <see cref="RoomSubscription"/> exactly once and in <see cref="Seq"/>
/// order: <see cref="MessageReceived"/> (a new message) and <see cref="MessageUpdated"/> (an edit, a delete or a change
/// of reactions). Later protocol versions may add kinds, so switch on the type and ignore kinds you do not know.
/// </summary>
/// <param name="Room">The room name (normalized, lower case).</param>
/// <param name="Seq">The event's sequence number in the room.</param>
public abstract record RoomEvent(string Room, long Seq);

/// <summary>A new message in the room.</summary>
/// <param name="Message">The message.</param>
public sealed record MessageReceived(MessageDto Message) : RoomEvent(Message?.Room ?? throw new ArgumentNullException(nameof(Message)), Message.Seq);

/// <summary>
/// A message of the room changed (the <c>messageUpdated</c> event): <see cref="RoomEvent.Seq"/> is the event's own seq,
/// <see cref="Message"/> the message's current state (its <see cref="MessageDto.Seq"/> stays the one it was created with).
/// </summary>
/// <param name="Room">The room name (normalized, lower case).</param>
/// <param name="Seq">The event's sequence number in the room.</param>
/// <param name="Change">What changed: <see cref="MessageChanges.Edited"/>, <see cref="MessageChanges.Deleted"/> or <see cref="MessageChanges.Reactions"/>.</param>
/// <param name="Message">The message in its current state (a deleted one has <see cref="MessageDto.Deleted"/> set and an empty text).</param>
public sealed record MessageUpdated(string Room, long Seq, string Change, MessageDto Message) : RoomEvent(Room, Seq)
{
    /// <summary>Creates the event from the hub's <c>messageUpdated</c> event.</summary>
    /// <param name="update">The wire event.</param>
    /// <returns>The room event.</returns>
    public static MessageUpdated From(MessageUpdatedEvent update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return new MessageUpdated(update.Room, update.Seq, update.Change, update.Message);
    }
}
