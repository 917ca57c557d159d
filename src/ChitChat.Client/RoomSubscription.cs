using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ChitChat.Client.Internal;
using ChitChat.Contracts;

namespace ChitChat.Client;

/// <summary>
/// A joined room (from <see cref="ChitChatClient.JoinRoomAsync"/>): every event after the join point, exactly once and in
/// <c>seq</c> order, live or caught up, across reconnects. Read them with <see cref="ReadEventsAsync"/> or
/// <see cref="EventReceived"/>. Disposing leaves the room.
/// </summary>
public sealed class RoomSubscription : IAsyncDisposable
{
    private readonly ChitChatClient _client;
    private readonly Channel<RoomEvent> _dispatch = Channel.CreateUnbounded<RoomEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<RoomEvent>? _reader;
    private readonly Task _dispatchLoop;

    internal RoomSubscription(ChitChatClient client, string room, long? afterSeq, IRoomHub hub, int pageSize, bool buffer)
    {
        _client = client;
        Room = room;
        _reader = buffer ? Channel.CreateUnbounded<RoomEvent>(new UnboundedChannelOptions { SingleWriter = true }) : null;
        Synchronizer = new RoomSynchronizer(room, afterSeq, hub, pageSize, e => _dispatch.Writer.TryWrite(e), client.CreateLogger<RoomSubscription>());
        _dispatchLoop = DispatchAsync();
    }

    /// <summary>
    /// Raised for every event dispatched after the handler was attached, in seq order, on a background task (one at a
    /// time). The join's catch-up may be dispatched before <see cref="ChitChatClient.JoinRoomAsync"/> returns; to see every
    /// event from the join point on, read <see cref="ReadEventsAsync"/>.
    /// </summary>
    public event EventHandler<RoomEvent>? EventReceived;

    /// <summary>
    /// Raised once when the server removed this user from the room (removed or banned): the subscription has ended, after
    /// every event delivered before it (<see cref="EventReceived"/> handlers ran first). It is not re-joined after a reconnect.
    /// </summary>
    public event EventHandler<RemovedEvent>? RemovedFromRoom;

    /// <summary>Gets the room name (normalized, lower case).</summary>
    public string Room { get; }

    /// <summary>Gets the seq of the last event delivered (the point a re-join continues from); 0 before anything was delivered into an empty room.</summary>
    public long LastSeq => Synchronizer.LastDelivered;

    /// <summary>Gets the error that ended the subscription (e.g. re-joining after a reconnect was refused), or <see langword="null"/>.</summary>
    public Exception? Error { get; private set; }

    /// <summary>
    /// Gets the server's <c>removed</c> event when the user was removed from or banned in the room (the subscription
    /// ended, <see cref="ReadEventsAsync"/> completed normally and the client no longer lists it), or <see langword="null"/>.
    /// </summary>
    public RemovedEvent? Removed { get; private set; }

    internal RoomSynchronizer Synchronizer { get; }

    /// <summary>
    /// Reads the events, in seq order, until the room is left, the user is removed from it (see <see cref="Removed"/>) or
    /// the client disposed. One reader at a time. Requires
    /// <see cref="ChitChatClientOptions.BufferRoomEvents"/>; events are buffered from the join on, so nothing is missed
    /// by starting to read late.
    /// </summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The events.</returns>
    /// <exception cref="InvalidOperationException"><see cref="ChitChatClientOptions.BufferRoomEvents"/> is off.</exception>
    /// <exception cref="ChitChatException">The subscription ended because the server refused the re-join.</exception>
    public IAsyncEnumerable<RoomEvent> ReadEventsAsync(CancellationToken cancellationToken = default)
    {
        var reader = _reader ?? throw new InvalidOperationException("ChitChatClientOptions.BufferRoomEvents is off: use the EventReceived event.");
        return ReadCoreAsync(reader.Reader, cancellationToken);
    }

    /// <summary>
    /// Loads older messages for scrolling back: the page right before the oldest message this subscription delivered or
    /// loaded (over HTTP). Call again for the page before that; an empty list means the start of the room.
    /// </summary>
    /// <param name="limit">The page size (the server's default when <see langword="null"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages, ascending by seq.</returns>
    public async Task<IReadOnlyList<MessageDto>> LoadOlderAsync(int? limit = null, CancellationToken cancellationToken = default)
    {
        var before = Synchronizer.OldestDelivered ?? (Synchronizer.LastDelivered + 1);
        if (before <= 1)
        {
            return [];
        }

        var page = await _client.GetHistoryAsync(Room, limit, beforeSeq: before, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (page.Count > 0)
        {
            Synchronizer.NoteOlder(page[0].Seq);
        }

        return page;
    }

    /// <summary>Leaves the room: no more events; <see cref="ReadEventsAsync"/> ends after the events already delivered.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when left.</returns>
    public Task LeaveAsync(CancellationToken cancellationToken = default) => _client.LeaveAsync(this, cancellationToken);

    /// <summary>Leaves the room (see <see cref="LeaveAsync"/>).</summary>
    /// <returns>A task that completes when left.</returns>
    public async ValueTask DisposeAsync()
    {
        await LeaveAsync().ConfigureAwait(false);
        await _dispatchLoop.ConfigureAwait(false);
    }

    internal void Close(Exception? error)
    {
        if (error is not null)
        {
            Error = error;
            Synchronizer.Fail(error);
        }

        Synchronizer.Close();
        _dispatch.Writer.TryComplete();
    }

    /// <summary>The server removed the user from the room (the client already took the subscription out of its rooms).</summary>
    internal void CloseRemoved(RemovedEvent removed)
    {
        Removed = removed;
        Close(null);
    }

    private static async IAsyncEnumerable<RoomEvent> ReadCoreAsync(ChannelReader<RoomEvent> reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    private async Task DispatchAsync()
    {
        await foreach (var e in _dispatch.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            _reader?.Writer.TryWrite(e);
            var handler = EventReceived;
            if (handler is not null)
            {
                _client.Raise(() => handler(this, e));
            }
        }

        _reader?.Writer.TryComplete(Error);
        if (Removed is { } removed && RemovedFromRoom is { } removedHandler)
        {
            _client.Raise(() => removedHandler(this, removed));
        }
    }
}
