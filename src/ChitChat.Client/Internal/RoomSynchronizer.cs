using ChitChat.Contracts;
using Microsoft.Extensions.Logging;

namespace ChitChat.Client.Internal;

/// <summary>
/// Turns one room's join results (<c>missed</c> and <c>updates</c>), <c>GetEvents</c> pages and live <c>message</c> and
/// <c>messageUpdated</c> events into one exactly-once, seq-ordered stream. Every event goes through <see cref="Offer"/>:
/// kept when its seq is above the last delivered one, then delivered as soon as it is the next one. So a live event that
/// arrives before the <c>JoinRoom</c> result waits (it is buffered), anything at or below the last delivered seq is
/// dropped, and a jump leaves the later events waiting until a <c>GetEvents</c> page fills the gap (messages and updates
/// alike: history would not have the updates).
/// </summary>
/// <remarks>
/// Live events are offered on SignalR's receive thread and never wait for the network: they only take the short state
/// lock. The network work (a join with its catch-up pages, a gap repair) runs one at a time under <see cref="_gate"/>
/// and outside the lock, so live events keep being buffered while it runs. Delivery is a non-blocking callback.
/// </remarks>
internal sealed partial class RoomSynchronizer
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SortedDictionary<long, RoomEvent> _held = [];
    private readonly IRoomHub _hub;
    private readonly int _pageSize;
    private readonly Action<RoomEvent> _deliver;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _last;
    private bool _hasBaseline;
    private bool _live;
    private bool _closed;
    private long _oldest = long.MaxValue;

    public RoomSynchronizer(string room, long? afterSeq, IRoomHub hub, int pageSize, Action<RoomEvent> deliver, ILogger logger)
    {
        Room = room;
        _hub = hub;
        _pageSize = pageSize;
        _deliver = deliver;
        _logger = logger;
        if (afterSeq is { } after)
        {
            _last = after;
            _hasBaseline = true;
        }
    }

    public string Room { get; }

    /// <summary>Gets the seq of the last delivered event (the <c>afterSeq</c> of the next join), or 0 before the first join.</summary>
    public long LastDelivered
    {
        get
        {
            lock (_lock)
            {
                return _last;
            }
        }
    }

    /// <summary>Gets the lowest seq delivered so far, or <see langword="null"/>.</summary>
    public long? OldestDelivered
    {
        get
        {
            lock (_lock)
            {
                return _oldest == long.MaxValue ? null : _oldest;
            }
        }
    }

    /// <summary>Gets how many events wait for a predecessor (buffered around a join or behind a gap).</summary>
    public int HeldCount
    {
        get
        {
            lock (_lock)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Gets a task that completes with the first successful join (or fails when it is refused).</summary>
    public Task Joined => _joined.Task;

    /// <summary>Offers a live event. Returns at once; starts a gap repair in the background when the event is ahead of a gap.</summary>
    public void OnLive(MessageDto message) => OnLive(new MessageReceived(message));

    /// <summary>Offers a live <c>messageUpdated</c> event (see <see cref="OnLive(RoomEvent)"/>).</summary>
    public void OnLive(MessageUpdatedEvent update) => OnLive(MessageUpdated.From(update));

    /// <summary>Offers a live event. Returns at once; starts a gap repair in the background when the event is ahead of a gap.</summary>
    public void OnLive(RoomEvent message)
    {
        bool repair;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            Offer(message);
            repair = _live && _held.Count > 0;
        }

        if (repair)
        {
            LogGap(Room, LastDelivered, message.Seq);
            _ = Task.Run(RepairInBackgroundAsync);
        }
    }

    /// <summary>
    /// Joins (or re-joins after a reconnect) with the last delivered seq: delivers the missed events, pages the rest when
    /// <c>hasMore</c>, then the buffered live events, repairing any gap.
    /// </summary>
    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long? afterSeq;
            lock (_lock)
            {
                _live = false;
                afterSeq = _hasBaseline ? _last : null;
            }

            JoinRoomResult result;
            try
            {
                result = await _hub.JoinRoomAsync(Room, afterSeq, cancellationToken).ConfigureAwait(false);
            }
            catch (ChitChatException ex)
            {
                _joined.TrySetException(ex);
                throw;
            }

            lock (_lock)
            {
                if (!_hasBaseline)
                {
                    // No afterSeq: the result holds the latest messages in their current state (their seqs skip the
                    // updates', which they already reflect): deliver them, then continue right after the boundary.
                    _last = result.Missed.Count > 0 ? result.Missed.Min(m => m.Seq) - 1 : result.LastSeq;
                    _hasBaseline = true;
                    foreach (var message in result.Missed.OrderBy(m => m.Seq))
                    {
                        if (!_closed && message.Seq > _last)
                        {
                            _last = message.Seq;
                            _oldest = Math.Min(_oldest, message.Seq);
                            _deliver(new MessageReceived(message));
                        }
                    }

                    _last = Math.Max(_last, result.LastSeq);
                    foreach (var stale in _held.Keys.Where(s => s <= _last).ToList())
                    {
                        _held.Remove(stale);
                    }

                    Drain();
                }
                else
                {
                    // missed and updates together hold every event after afterSeq (up to the cap): merged by seq.
                    foreach (var message in result.Missed)
                    {
                        Offer(new MessageReceived(message));
                    }

                    foreach (var update in result.Updates ?? [])
                    {
                        Offer(MessageUpdated.From(update));
                    }
                }
            }

            LogJoined(Room, afterSeq ?? -1, result.LastSeq, result.Missed.Count + (result.Updates?.Count ?? 0), result.HasMore);
            await FillAsync(result.LastSeq, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _live = true;
            }

            await RepairAsync(cancellationToken).ConfigureAwait(false);
            _joined.TrySetResult();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops delivering (the room was left).</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            _live = false;
            _held.Clear();
        }

        _joined.TrySetCanceled();
    }

    /// <summary>Fails the first join (it was refused after a reconnect).</summary>
    public void Fail(Exception exception) => _joined.TrySetException(exception);

    /// <summary>Notes that an older page was loaded (so the next page starts below it).</summary>
    public void NoteOlder(long seq)
    {
        lock (_lock)
        {
            _oldest = Math.Min(_oldest, seq);
        }
    }

    private async Task RepairInBackgroundAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await RepairAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Usually the connection dropping: the re-join after the reconnect fills the gap.
            LogRepairFailed(Room, ex.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>While events wait behind a gap, reads the room's events after the last delivered seq. Runs under the gate.</summary>
    private async Task RepairAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            long target;
            lock (_lock)
            {
                if (_closed || !_live || _held.Count == 0)
                {
                    return;
                }

                target = _held.Keys.First() - 1;
            }

            if (!await FillAsync(target, cancellationToken).ConfigureAwait(false))
            {
                return; // the server does not have it (yet); the next live event or re-join tries again
            }
        }
    }

    /// <summary>Delivers <c>GetEvents</c> pages after the last delivered seq until <paramref name="upTo"/>; false when a page came back empty first.</summary>
    private async Task<bool> FillAsync(long upTo, CancellationToken cancellationToken)
    {
        while (true)
        {
            long after;
            lock (_lock)
            {
                if (_closed || _last >= upTo)
                {
                    return true;
                }

                after = _last;
            }

            var page = await _hub.GetEventsAsync(Room, after, _pageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return false;
            }

            lock (_lock)
            {
                foreach (var e in page)
                {
                    if (ToRoomEvent(e) is { } roomEvent)
                    {
                        Offer(roomEvent);
                    }
                }
            }
        }
    }

    private RoomEvent? ToRoomEvent(RoomEventDto e) => e.Type switch
    {
        RoomEventTypes.Message when e.Message is not null => new MessageReceived(e.Message),
        RoomEventTypes.MessageUpdated when e.Message is not null => new MessageUpdated(Room, e.Seq, e.Change ?? string.Empty, e.Message),
        _ => null, // a kind this client does not know: the seq stays a gap only if nothing else fills it
    };

    /// <summary>Keeps an event above the last delivered seq and delivers every now contiguous one. Under the lock.</summary>
    private void Offer(RoomEvent message)
    {
        if (_closed || (_hasBaseline && message.Seq <= _last))
        {
            return;
        }

        _held.TryAdd(message.Seq, message);
        if (!_hasBaseline)
        {
            return; // the first join's result says where the stream starts
        }

        Drain();
    }

    /// <summary>Delivers every held event that continues the last delivered seq. Under the lock.</summary>
    private void Drain()
    {
        while (_held.Count > 0)
        {
            var (seq, next) = _held.First();
            if (seq <= _last)
            {
                _held.Remove(seq);
                continue;
            }

            if (seq != _last + 1)
            {
                return;
            }

            _held.Remove(seq);
            _last = seq;
            if (next is MessageReceived)
            {
                _oldest = Math.Min(_oldest, seq);
            }

            _deliver(next);
        }
    }

    [LoggerMessage(EventId = 9100, EventName = "RoomGap", Level = LogLevel.Debug, Message = "Gap in {Room} after seq {Last} (received {Seq}); reading it with GetEvents.")]
    private partial void LogGap(string room, long last, long seq);

    [LoggerMessage(EventId = 9101, EventName = "RoomJoined", Level = LogLevel.Debug, Message = "Joined {Room} after seq {AfterSeq}: boundary {LastSeq}, {Missed} missed events, hasMore {HasMore}.")]
    private partial void LogJoined(string room, long afterSeq, long lastSeq, int missed, bool hasMore);

    [LoggerMessage(EventId = 9102, EventName = "RoomRepairFailed", Level = LogLevel.Debug, Message = "Repairing a gap in {Room} failed ({Reason}); the next re-join repairs it.")]
    private partial void LogRepairFailed(string room, string reason);
}
