using ChitChat.Storage;

namespace ChitChat.History;

/// <summary>Reads a room's event sequence from the store (<see cref="IMessageStore.ReadEventsAsync"/>).</summary>
internal static class RoomEventReader
{
    /// <summary>Reads the events with <c>afterSeq &lt; seq &lt;= upToSeq</c>, ascending, at most <paramref name="limit"/>.</summary>
    public static async Task<IReadOnlyList<MessageEvent>> ReadAsync(IMessageStore messages, string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken)
    {
        try
        {
            return await messages.ReadEventsAsync(room, afterSeq, upToSeq, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException)
        {
            // TODO(issue 13): remove once every store implements the event sequence. A store of protocol version 1 has
            // messages only (no update takes a seq), so its messages are its events.
            var page = await messages.QueryAsync(room, new MessageQuery(afterSeq, upToSeq == long.MaxValue ? null : upToSeq + 1, limit), cancellationToken).ConfigureAwait(false);
            return [.. page.Select(MessageEvent.Posted)];
        }
    }
}
