using ChitChat.Client;
using ChitChat.Contracts;

namespace ChitChat.Cli;

/// <summary>The console's use of the SDK: join a room with some recent history and print its stream.</summary>
public static class ClientExtensions
{
    /// <summary>
    /// Joins <paramref name="room"/> starting with its last <paramref name="recent"/> messages (0: only new ones) and calls
    /// <paramref name="onMessage"/> for every message of the room from then on, in order and exactly once (the SDK's
    /// guarantee, across reconnects). Joining a room already joined returns its subscription.
    /// </summary>
    /// <param name="client">The client.</param>
    /// <param name="room">The room name.</param>
    /// <param name="recent">How many recent messages to deliver first.</param>
    /// <param name="onMessage">Called for each message, on a background task.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <param name="onRemoved">Called once when the server took this user out of the room (removed or banned): the stream has ended.</param>
    /// <returns>The subscription.</returns>
    /// <param name="onUpdate">Called for each change of a message (edit, delete, reactions), in order with the messages.</param>
    public static async Task<RoomSubscription> JoinWithRecentAsync(this ChitChatClient client, string room, int recent, Action<MessageDto> onMessage, CancellationToken cancellationToken, Action<RemovedEvent>? onRemoved = null, Action<MessageUpdated>? onUpdate = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(onMessage);
        room = room.Trim().ToLowerInvariant();
        if (client.Rooms.FirstOrDefault(r => r.Room == room) is { } joined)
        {
            return joined;
        }

        var latest = await client.GetHistoryAsync(room, Math.Max(1, recent), cancellationToken: cancellationToken);
        var afterSeq = latest.Count == 0 ? 0 : recent > 0 ? latest[0].Seq - 1 : latest[^1].Seq;
        var subscription = await client.JoinRoomAsync(room, afterSeq, cancellationToken);
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in subscription.ReadEventsAsync())
                {
                    if (e is MessageReceived received)
                    {
                        onMessage(received.Message);
                    }
                    else if (e is MessageUpdated updated)
                    {
                        onUpdate?.Invoke(updated);
                    }
                }

                if (subscription.Removed is { } removed)
                {
                    onRemoved?.Invoke(removed);
                }
            }
            catch (ChitChatException)
            {
                // the server refused a re-join (e.g. the room is gone): the stream ends
            }
        }, CancellationToken.None);
        return subscription;
    }

    /// <summary>
    /// Finds the message the console calls <c>[n]</c> in a room: the message whose seq is <paramref name="seq"/> (the number
    /// printed before each message line).
    /// </summary>
    /// <param name="client">The client.</param>
    /// <param name="room">The room name.</param>
    /// <param name="seq">The message's seq.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The message.</returns>
    /// <exception cref="ChitChatException"><c>message_not_found</c> when no message of the room has that number.</exception>
    public static async Task<MessageDto> FindMessageAsync(this ChitChatClient client, string room, long seq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var page = await client.GetHistoryAsync(room, 1, beforeSeq: seq + 1, cancellationToken: cancellationToken);
        return page is [var message] && message.Seq == seq
            ? message
            : throw new ChitChatException("message_not_found", $"#{room} has no message [{seq}]");
    }

    /// <summary>Describes reactions as <c>👍 2, 🎉 1</c> (empty when none).</summary>
    /// <param name="message">The message.</param>
    /// <returns>The text.</returns>
    public static string DescribeReactions(this MessageDto message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return string.Join(", ", message.Reactions.Select(r => $"{r.Emoji} {r.Count}"));
    }

    /// <summary>Names a state change the way the console prints it: <c>connected</c>, <c>reconnecting</c>, <c>retrying</c>, <c>reconnected</c>, <c>disconnected</c>.</summary>
    /// <param name="change">The change.</param>
    /// <returns>The word.</returns>
    public static string Describe(this ConnectionStateChangedEventArgs change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return change.IsReconnect ? "reconnected" : change.State.ToString().ToLowerInvariant();
    }
}
