using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace ChitChat.Transport;

/// <summary>
/// The local half of an <see cref="IChatTransport"/>: which handlers of this process subscribed to which room, and
/// delivery of an event to them, in subscription order, one failing handler never stopping the others. Thread-safe;
/// delivery reads an immutable snapshot, so subscribing or leaving during a delivery never blocks it.
/// <see cref="InProcessTransport"/> is this alone; a networked transport (e.g. Redis) adds its channel subscription per
/// room and calls <see cref="DeliverAsync"/> for its own events and for the ones other nodes published.
/// </summary>
internal sealed class LocalRoomSubscribers
{
    private readonly ConcurrentDictionary<string, ImmutableArray<LocalRoomSubscription>> _rooms = new(StringComparer.Ordinal);
    private readonly Action<string, Exception> _onHandlerFailed;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="onHandlerFailed">Called with the room and the exception when a handler throws (typically a log method);
    /// delivery goes on with the next handler.</param>
    public LocalRoomSubscribers(Action<string, Exception> onHandlerFailed)
    {
        ArgumentNullException.ThrowIfNull(onHandlerFailed);
        _onHandlerFailed = onHandlerFailed;
    }

    /// <summary>Gets whether a room has at least one local subscriber.</summary>
    /// <param name="room">The room name.</param>
    /// <returns><see langword="true"/> when it has.</returns>
    public bool HasSubscribers(string room) => _rooms.ContainsKey(room);

    /// <summary>
    /// Adds a handler for a room. Disposing the returned subscription stops delivery to it at once and then calls
    /// <paramref name="onDisposed"/> (for example, to unsubscribe the room's network channel when it was the last one), or
    /// <see cref="Remove"/> when none is given.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="onDisposed">What disposing the subscription does after delivery to it stopped; it must call <see cref="Remove"/>.</param>
    /// <returns>The subscription, which the transport returns from <see cref="IChatTransport.SubscribeAsync"/>.</returns>
    public LocalRoomSubscription Add(string room, RoomEventHandler handler, Func<LocalRoomSubscription, ValueTask>? onDisposed = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new LocalRoomSubscription(this, room, handler, onDisposed);
        _rooms.AddOrUpdate(room, static (_, s) => [s], static (_, list, s) => list.Add(s), subscription);
        return subscription;
    }

    /// <summary>Removes a subscription returned by <see cref="Add"/> (idempotent).</summary>
    /// <param name="subscription">The subscription.</param>
    /// <returns><see langword="true"/> when its room has no local subscriber left.</returns>
    public bool Remove(LocalRoomSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var s = subscription;
        if (s.Owner != this)
        {
            throw new ArgumentException("The subscription was not added to this instance.", nameof(subscription));
        }

        s.Stop();
        while (_rooms.TryGetValue(s.Room, out var list))
        {
            var updated = list.Remove(s);
            if (updated.Length == list.Length)
            {
                return false; // already removed; others remain
            }

            if (updated.IsEmpty
                ? _rooms.TryRemove(new KeyValuePair<string, ImmutableArray<LocalRoomSubscription>>(s.Room, list))
                : _rooms.TryUpdate(s.Room, updated, list))
            {
                return updated.IsEmpty;
            }
        }

        return true;
    }

    /// <summary>Delivers an event to the room's local handlers, in subscription order, awaiting each.</summary>
    /// <param name="roomEvent">The event.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests (passed to the handlers).</param>
    /// <returns>A task that completes when every handler has run.</returns>
    public async ValueTask DeliverAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roomEvent);
        if (!_rooms.TryGetValue(roomEvent.Room, out var subscribers))
        {
            return;
        }

        foreach (var subscription in subscribers)
        {
            if (subscription.IsStopped)
            {
                continue; // disposed; its removal (e.g. a network unsubscribe) may still be running
            }

            try
            {
                await subscription.Handler(roomEvent, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One failing subscriber never stops delivery to the others.
                _onHandlerFailed(roomEvent.Room, ex);
            }
        }
    }
}

/// <summary>A handler's subscription to a room in <see cref="LocalRoomSubscribers"/>; disposing it stops delivery to the handler.</summary>
internal sealed class LocalRoomSubscription : IAsyncDisposable
{
    private readonly Func<LocalRoomSubscription, ValueTask>? _onDisposed;
    private int _stopped;
    private int _disposed;

    internal LocalRoomSubscription(LocalRoomSubscribers owner, string room, RoomEventHandler handler, Func<LocalRoomSubscription, ValueTask>? onDisposed)
    {
        Owner = owner;
        Room = room;
        Handler = handler;
        _onDisposed = onDisposed;
    }

    /// <summary>Gets the room.</summary>
    public string Room { get; }

    internal LocalRoomSubscribers Owner { get; }

    internal RoomEventHandler Handler { get; }

    internal bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Stops delivery to the handler at once, then runs the removal given to <see cref="LocalRoomSubscribers.Add"/> (once).</summary>
    /// <returns>A task that completes when removed.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        Stop();
        if (_onDisposed is not null)
        {
            return _onDisposed(this);
        }

        Owner.Remove(this);
        return ValueTask.CompletedTask;
    }

    internal void Stop() => Volatile.Write(ref _stopped, 1);
}
