using System.Collections.Concurrent;
using System.Threading.Channels;
using ChitChat.AspNetCore.Http;
using ChitChat.AspNetCore.Hubs;
using ChitChat.Diagnostics;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace ChitChat.AspNetCore.Delivery;

/// <summary>
/// Node-level room fan-out: the bridge from <see cref="IChatTransport"/> to SignalR groups.
/// </summary>
/// <remarks>
/// <para>
/// <b>One subscription per room per node.</b> The first local connection that joins a room subscribes this node to the
/// room on the transport; the last one to leave unsubscribes. Each event is forwarded once to the SignalR group of the
/// room (<c>IHubContext.Clients.Group(room)</c>), so SignalR serializes it once per hub protocol, never per recipient,
/// and the store is never read per recipient.
/// </para>
/// <para>
/// <b>An ordered pump per room.</b> Transport callbacks only enqueue; a single loop per room delivers in order and
/// remembers the last delivered <c>seq</c>. A message whose <c>seq</c> is at or below it is a duplicate and is dropped.
/// A message whose <c>seq</c> is beyond the next one is held back: concurrent senders publish in the order their
/// appends complete, not in <c>seq</c> order, so the missing one is usually a few microseconds behind. Held messages are
/// delivered as soon as the gap closes. Only when it stays open for <see cref="ReorderWindow"/> (or too many messages are
/// held) has the transport lost something (e.g. a Redis outage): the pump then reads the missing range from the store once,
/// delivers it in order, then the held messages.
/// </para>
/// <para>
/// <b>Joins run inside the pump.</b> Adding a connection to the group and reading the pump's last delivered
/// <c>seq</c> happen as one step of the pump, so that boundary splits the room exactly: everything up to it comes from
/// the store (the join's catch-up), everything after it comes live from the group. No gap, no duplicate. A client may
/// receive a live event before the JoinRoom result arrives and must buffer events by <c>seq</c>.
/// </para>
/// <para>
/// <b>Slow clients never delay others.</b> The pump hands a message to the group and does not await the sockets:
/// SignalR writes to each connection in call order behind that connection's own write lock and bounded pipe
/// (<see cref="ChitChatHubOptions.TransportMaxBufferSize"/>), and drops a connection that stops answering
/// (<c>HubOptions.ClientTimeoutInterval</c>).
/// </para>
/// </remarks>
internal sealed partial class RoomFanout : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RoomPump> _pumps = new(StringComparer.Ordinal);
    private readonly IChatTransport _transport;
    private readonly IChatStore _store;
    private readonly IHubContext<ChatHub> _hub;
    private readonly ChitChatMetrics _metrics;
    private readonly ILogger<RoomFanout> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();

    public RoomFanout(IChatTransport transport, IChatStore store, IHubContext<ChatHub> hub, ChitChatMetrics metrics, ILogger<RoomFanout> logger, TimeProvider time)
    {
        _transport = transport;
        _store = store;
        _hub = hub;
        _metrics = metrics;
        _logger = logger;
        _time = time;
    }

    /// <summary>How long a message that arrived ahead of its predecessor is held before the gap is filled from the store.</summary>
    internal static TimeSpan ReorderWindow { get; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many messages may be held ahead of a gap before it is filled from the store without waiting longer.</summary>
    internal const int MaxHeld = 1024;

    /// <summary>Counts a local connection as a member of a room; the first one subscribes the node to the room.</summary>
    public Task AcquireAsync(string room, CancellationToken cancellationToken = default) =>
        _pumps.GetOrAdd(room, r => new RoomPump(this, r)).AcquireAsync(cancellationToken);

    /// <summary>Uncounts a local connection; the last one unsubscribes the node from the room.</summary>
    public Task ReleaseAsync(string room) =>
        _pumps.TryGetValue(room, out var pump) ? pump.ReleaseAsync() : Task.CompletedTask;

    /// <summary>
    /// Adds a connection to the room's group inside the room's pump and returns the pump's last delivered sequence number:
    /// every later message reaches the connection live, every earlier one must come from the store.
    /// </summary>
    public Task<long> JoinGroupAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        if (!_pumps.TryGetValue(room, out var pump))
        {
            throw new InvalidOperationException($"Room {room} must be acquired before joining its group.");
        }

        return pump.JoinAsync(connectionId, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var pump in _pumps.Values)
        {
            await pump.StopAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 6101, EventName = "RoomSubscribed", Level = LogLevel.Debug, Message = "Node subscribed to room {Room}.")]
    private partial void LogSubscribed(string room);

    [LoggerMessage(EventId = 6102, EventName = "RoomUnsubscribed", Level = LogLevel.Debug, Message = "Node unsubscribed from room {Room}.")]
    private partial void LogUnsubscribed(string room);

    [LoggerMessage(EventId = 6103, EventName = "GapDetected", Level = LogLevel.Information, Message = "Room {Room}: received seq {Seq} after {LastDelivered}; filling the gap from the store.")]
    private partial void LogGap(string room, long seq, long lastDelivered);

    [LoggerMessage(EventId = 6104, EventName = "GapFillFailed", Level = LogLevel.Warning, Message = "Room {Room}: the store could not fill the gap after seq {LastDelivered}; delivering seq {Seq} anyway (clients page the rest with GetHistory).")]
    private partial void LogGapFillFailed(string room, long lastDelivered, long seq, Exception? exception);

    [LoggerMessage(EventId = 6105, EventName = "DeliveryFailed", Level = LogLevel.Warning, Message = "Room {Room}: handing an event to the group failed.")]
    private partial void LogDeliveryFailed(string room, Exception exception);

    [LoggerMessage(EventId = 6106, EventName = "PumpItemFailed", Level = LogLevel.Error, Message = "Room {Room}: the delivery pump failed to process an item.")]
    private partial void LogPumpItemFailed(string room, Exception exception);

    [LoggerMessage(EventId = 6107, EventName = "PumpInitFailed", Level = LogLevel.Warning, Message = "Room {Room}: reading the last seq from the store failed; delivering live events without gap detection until it answers.")]
    private partial void LogInitFailed(string room, Exception exception);

    private abstract record PumpItem;

    private sealed record EventItem(int Generation, RoomEvent Event) : PumpItem;

    private sealed record MessageItem(int Generation, ChatMessage Message) : PumpItem;

    private sealed record ResetItem(int Generation) : PumpItem;

    private sealed record JoinItem(string ConnectionId, TaskCompletionSource<long> Completion) : PumpItem;

    private sealed class RoomPump(RoomFanout owner, string room)
    {
        private const int GapFillPageSize = 500;

        private readonly Channel<PumpItem> _queue = Channel.CreateUnbounded<PumpItem>(new UnboundedChannelOptions { SingleReader = true });
        private readonly SemaphoreSlim _lifecycle = new(1, 1);

        // Lifecycle state, guarded by _lifecycle.
        private IAsyncDisposable? _subscription;
        private int _generation;
        private Task? _loop;

        // Local members, read by the pump for the delivered-messages metric.
        private int _members;

        // Pump state, touched only by the pump loop.
        private IClientProxy? _group; // the room's group proxy (stateless), created once instead of per message
        private readonly SortedList<long, ChatMessage> _held = [];
        private long _heldSince;
        private int _currentGeneration;
        private bool _initialized;
        private long _lastDelivered;

        public async Task AcquireAsync(CancellationToken cancellationToken)
        {
            await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_members == 0)
                {
                    _loop ??= Task.Run(RunAsync, CancellationToken.None);
                    var generation = ++_generation;

                    // Callbacks only enqueue: the transport's thread is never blocked by delivery.
                    _subscription = await owner._transport.SubscribeAsync(
                        room,
                        (e, _) =>
                        {
                            _queue.Writer.TryWrite(e is MessagePosted posted ? new MessageItem(generation, posted.Message) : new EventItem(generation, e));
                            return ValueTask.CompletedTask;
                        },
                        cancellationToken).ConfigureAwait(false);

                    // Events of the new subscription queued before this reset are dropped; the pump re-reads the
                    // last seq from the store (after the subscription is live) before its next message or join.
                    _queue.Writer.TryWrite(new ResetItem(generation));
                    owner.LogSubscribed(room);
                }

                Volatile.Write(ref _members, _members + 1);
            }
            finally
            {
                _lifecycle.Release();
            }
        }

        public async Task ReleaseAsync()
        {
            await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (_members == 0)
                {
                    return;
                }

                Volatile.Write(ref _members, _members - 1);
                if (_members == 0 && _subscription is { } subscription)
                {
                    _subscription = null;
                    await subscription.DisposeAsync().ConfigureAwait(false);
                    owner.LogUnsubscribed(room);
                }
            }
            finally
            {
                _lifecycle.Release();
            }
        }

        public async Task<long> JoinAsync(string connectionId, CancellationToken cancellationToken)
        {
            var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_queue.Writer.TryWrite(new JoinItem(connectionId, completion)))
            {
                throw new ChatStoreUnavailableException("The server is shutting down.");
            }

            return await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        public async Task StopAsync()
        {
            _queue.Writer.TryComplete();
            if (_subscription is { } subscription)
            {
                _subscription = null;
                await subscription.DisposeAsync().ConfigureAwait(false);
            }

            if (_loop is { } loop)
            {
                await loop.ConfigureAwait(false);
            }
        }

        private async Task RunAsync()
        {
            var stopping = owner._stopping.Token;
            var reader = _queue.Reader;
            try
            {
                while (true)
                {
                    if (_held.Count > 0 && owner._time.GetElapsedTime(_heldSince) >= ReorderWindow)
                    {
                        await RunItemAsync(null, stopping).ConfigureAwait(false);
                        continue;
                    }

                    if (reader.TryRead(out var item))
                    {
                        await RunItemAsync(item, stopping).ConfigureAwait(false);
                        continue;
                    }

                    if (_held.Count == 0)
                    {
                        if (!await reader.WaitToReadAsync(stopping).ConfigureAwait(false))
                        {
                            break;
                        }

                        continue;
                    }

                    // A gap is open and nothing is queued: wait for the missing message until the window ends.
                    var remaining = ReorderWindow - owner._time.GetElapsedTime(_heldSince);
                    if (remaining > TimeSpan.Zero)
                    {
                        using var window = new CancellationTokenSource(remaining, owner._time);
                        using var link = CancellationTokenSource.CreateLinkedTokenSource(stopping, window.Token);
                        try
                        {
                            if (!await reader.WaitToReadAsync(link.Token).ConfigureAwait(false))
                            {
                                break;
                            }
                        }
                        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                        {
                            // The window ended: the loop fills the gap from the store.
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Shutting down.
            }

            while (reader.TryRead(out var left))
            {
                if (left is JoinItem join)
                {
                    join.Completion.TrySetException(new ChatStoreUnavailableException("The server is shutting down."));
                }
            }
        }

        /// <summary>Processes one item (or, for <see langword="null"/>, fills the gap ahead of the held messages from the store).</summary>
        private async Task RunItemAsync(PumpItem? item, CancellationToken stopping)
        {
            try
            {
                if (item is null)
                {
                    await FillHeldGapAsync(stopping).ConfigureAwait(false);
                }
                else
                {
                    await ProcessAsync(item, stopping).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                owner.LogPumpItemFailed(room, ex);
                if (item is JoinItem join)
                {
                    join.Completion.TrySetException(ex);
                }
                else if (item is null)
                {
                    // Never spin on a failing gap fill: deliver what is held (clients page the rest with GetHistory).
                    FlushHeld(force: true);
                }
            }
        }

        private async Task ProcessAsync(PumpItem item, CancellationToken cancellationToken)
        {
            switch (item)
            {
                case ResetItem reset:
                    _currentGeneration = reset.Generation;
                    _initialized = false;
                    _held.Clear();
                    break;

                case JoinItem join:
                    // A join needs the boundary; if the store does not answer, the join fails (unavailable) and the client
                    // retries. Reading the store's last seq also repairs a tail the transport dropped with no later message
                    // to reveal the gap: it is delivered to the current members before the new one is added.
                    var storeLast = await owner._store.Messages.GetLastSeqAsync(room, cancellationToken).ConfigureAwait(false);
                    if (!_initialized)
                    {
                        _lastDelivered = storeLast;
                        _initialized = true;
                    }
                    else if (storeLast > _lastDelivered)
                    {
                        owner.LogGap(room, storeLast, _lastDelivered);
                        await FillGapAsync(storeLast + 1, cancellationToken).ConfigureAwait(false);
                        FlushHeld(force: false);
                    }

                    await owner._hub.Groups.AddToGroupAsync(join.ConnectionId, room, cancellationToken).ConfigureAwait(false);
                    join.Completion.TrySetResult(_lastDelivered);
                    break;

                case MessageItem m when m.Generation == _currentGeneration:
                    await DeliverMessageAsync(m.Message, cancellationToken).ConfigureAwait(false);
                    break;

                case EventItem { Event: PresenceChanged p } e when e.Generation == _currentGeneration:
                    Send("presence", new PresenceEvent(p.Room, p.UserId, p.UserName, p.Online));
                    break;

                case EventItem { Event: UserTyping t } e when e.Generation == _currentGeneration:
                    Send("typing", new TypingEvent(t.Room, t.UserId, t.UserName));
                    break;

                default:
                    // An event of an earlier subscription (or of an unknown kind): the reset that follows re-reads the store.
                    break;
            }
        }

        private async Task DeliverMessageAsync(ChatMessage message, CancellationToken cancellationToken)
        {
            if (!_initialized)
            {
                try
                {
                    // The message was stored before it was published, so the store's last seq includes it: it is dropped
                    // below and members get it from their join's catch-up instead.
                    _lastDelivered = await owner._store.Messages.GetLastSeqAsync(room, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    owner.LogInitFailed(room, ex);
                    _lastDelivered = message.Seq - 1;
                }

                _initialized = true;
            }

            if (message.Seq <= _lastDelivered)
            {
                return; // already delivered (or covered by the joins' catch-up): never a duplicate
            }

            if (message.Seq > _lastDelivered + 1)
            {
                // Usually only reordered by concurrent publishers: hold it until its predecessors arrive or the window ends.
                if (_held.Count == 0)
                {
                    _heldSince = owner._time.GetTimestamp();
                }

                _held.TryAdd(message.Seq, message);
                if (_held.Count >= MaxHeld)
                {
                    await FillHeldGapAsync(cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            Deliver(message);
            FlushHeld(force: false);
        }

        /// <summary>The gap ahead of the held messages outlived the reorder window: reads it from the store, then delivers them.</summary>
        private async Task FillHeldGapAsync(CancellationToken cancellationToken)
        {
            if (_held.Count == 0)
            {
                return;
            }

            var first = _held.Keys[0];
            if (first > _lastDelivered + 1)
            {
                owner.LogGap(room, first, _lastDelivered);
                if (!await FillGapAsync(first, cancellationToken).ConfigureAwait(false))
                {
                    FlushHeld(force: true); // the store could not fill it: deliver what is held anyway, as before
                    return;
                }
            }

            FlushHeld(force: false);
        }

        /// <summary>
        /// Delivers held messages that are next in order (all of them when <paramref name="force"/>: the gap before them could
        /// not be filled), drops the ones already delivered, and restarts the window for those still waiting.
        /// </summary>
        private void FlushHeld(bool force)
        {
            var flushed = false;
            while (_held.Count > 0)
            {
                var next = _held.Values[0];
                if (next.Seq <= _lastDelivered)
                {
                    _held.RemoveAt(0);
                    continue;
                }

                if (next.Seq != _lastDelivered + 1 && !force)
                {
                    break;
                }

                _held.RemoveAt(0);
                Deliver(next);
                flushed = true;
            }

            if (flushed && _held.Count > 0)
            {
                _heldSince = owner._time.GetTimestamp();
            }
        }

        /// <summary>Delivers the messages after the last delivered one and before <paramref name="upToExclusive"/> from the store; false when it could not.</summary>
        private async Task<bool> FillGapAsync(long upToExclusive, CancellationToken cancellationToken)
        {
            try
            {
                while (_lastDelivered + 1 < upToExclusive)
                {
                    var page = await owner._store.Messages.QueryAsync(room, new MessageQuery(_lastDelivered, upToExclusive, GapFillPageSize), cancellationToken).ConfigureAwait(false);
                    if (page.Count == 0)
                    {
                        owner.LogGapFillFailed(room, _lastDelivered, upToExclusive, null);
                        return false;
                    }

                    foreach (var missing in page)
                    {
                        if (missing.Seq > _lastDelivered)
                        {
                            Deliver(missing);
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                owner.LogGapFillFailed(room, _lastDelivered, upToExclusive, ex);
                return false;
            }

            return true;
        }

        private void Deliver(ChatMessage message)
        {
            _lastDelivered = message.Seq;
            Send("message", MessageDto.From(message));
            var members = Volatile.Read(ref _members);
            if (members > 0)
            {
                owner._metrics.MessagesDelivered.Add(members);
            }
        }

        private void Send(string method, object payload)
        {
            // Not awaited: SignalR starts the write to every connection of the group synchronously and in call order,
            // so per-connection order holds, while a stalled connection's pending write never holds up the pump.
            Task send;
            try
            {
                send = (_group ??= owner._hub.Clients.Group(room)).SendAsync(method, payload, CancellationToken.None);
            }
            catch (Exception ex)
            {
                owner.LogDeliveryFailed(room, ex);
                return;
            }

            if (!send.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(send);
            }
        }

        private async Task ObserveAsync(Task send)
        {
            try
            {
                await send.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                owner.LogDeliveryFailed(room, ex);
            }
        }
    }
}
