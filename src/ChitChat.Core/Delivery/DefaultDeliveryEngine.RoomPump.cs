using System.Threading.Channels;
using ChitChat.Contracts;
using ChitChat.Diagnostics;
using ChitChat.History;
using ChitChat.Storage;
using ChitChat.Transport;

namespace ChitChat.Delivery;

internal sealed partial class DefaultDeliveryEngine
{
    private abstract record PumpItem;

    private sealed record EventItem(int Generation, RoomEvent Event) : PumpItem;

    /// <summary>An event of the room's sequence: a <see cref="MessagePosted"/> or a <see cref="MessageUpdated"/>, ordered by <see cref="Seq"/>.</summary>
    private sealed record MessageItem(int Generation, RoomEvent Event) : PumpItem
    {
        public long Seq => SeqOf(Event);
    }

    /// <summary>The <c>seq</c> of an event of the room's sequence (a new message's own, an update's).</summary>
    private static long SeqOf(RoomEvent e) => e switch
    {
        MessagePosted posted => posted.Message.Seq,
        MessageUpdated updated => updated.Seq,
        _ => throw new ArgumentException("Not an event of the room's sequence.", nameof(e)),
    };

    /// <summary>The live form of an event read from the store.</summary>
    private static RoomEvent ToRoomEvent(MessageEvent e) =>
        e.Kind == MessageEventKind.Posted ? new MessagePosted(e.Message) : new MessageUpdated(e.Seq, e.Change ?? MessageChange.Edited, e.Message);

    private sealed record ResetItem(int Generation) : PumpItem;

    private sealed record JoinItem(ClientConnection Connection, TaskCompletionSource<long> Completion) : PumpItem;

    private sealed record LeaveItem(ClientConnection Connection, TaskCompletionSource Completion) : PumpItem;

    /// <summary>The delivery state of one room on this node; lives while the room has local members.</summary>
    private sealed class RoomPump(DefaultDeliveryEngine owner, string room)
    {
        private readonly Channel<PumpItem> _queue = Channel.CreateUnbounded<PumpItem>(new UnboundedChannelOptions { SingleReader = true });
        private readonly SemaphoreSlim _lifecycle = new(1, 1);

        // Lifecycle state, guarded by _lifecycle.
        private IAsyncDisposable? _subscription;
        private int _acquired;
        private int _generation;
        private bool _retired;
        private Task? _loop;

        // Membership, changed only by the pump loop; the count is also read by other threads.
        private readonly HashSet<ClientConnection> _members = [];
        private readonly Dictionary<IDeliverySink, int> _sinks = [];
        private int _memberCount;

        // Ordering state, touched only by the pump loop.
        private readonly SortedList<long, RoomEvent> _held = [];
        private long _heldSince;
        private int _currentGeneration;
        private bool _initialized;
        private long _lastDelivered;

        public string Room => room;

        public int MemberCount => Volatile.Read(ref _memberCount);

        /// <summary>Counts a member; the first subscribes the node to the room. False when the pump was retired meanwhile.</summary>
        public async Task<bool> AcquireAsync(CancellationToken cancellationToken)
        {
            await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_retired)
                {
                    return false;
                }

                if (_acquired == 0)
                {
                    _loop ??= Task.Run(RunAsync, CancellationToken.None);
                    var generation = ++_generation;

                    // Callbacks only enqueue: the transport's thread is never blocked by delivery.
                    _subscription = await owner._transport.SubscribeAsync(
                        room,
                        (e, _) =>
                        {
                            _queue.Writer.TryWrite(e is MessagePosted or MessageUpdated ? new MessageItem(generation, e) : new EventItem(generation, e));
                            return ValueTask.CompletedTask;
                        },
                        cancellationToken).ConfigureAwait(false);

                    // Events of the new subscription queued before this reset are dropped; the pump re-reads the last seq
                    // from the store (after the subscription is live) before its next message or join.
                    _queue.Writer.TryWrite(new ResetItem(generation));
                    owner.LogSubscribed(room);
                }

                _acquired++;
                return true;
            }
            finally
            {
                _lifecycle.Release();
            }
        }

        /// <summary>Uncounts a member; the last one unsubscribes and retires the pump (true).</summary>
        public async Task<bool> ReleaseAsync()
        {
            await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (_acquired == 0 || --_acquired > 0)
                {
                    return false;
                }

                _retired = true;
                if (_subscription is { } subscription)
                {
                    _subscription = null;
                    await subscription.DisposeAsync().ConfigureAwait(false);
                }

                _queue.Writer.TryComplete();
                owner.LogUnsubscribed(room);
                return true;
            }
            finally
            {
                _lifecycle.Release();
            }
        }

        public async Task<long> JoinAsync(ClientConnection connection, CancellationToken cancellationToken)
        {
            var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_queue.Writer.TryWrite(new JoinItem(connection, completion)))
            {
                throw new ChatStoreUnavailableException("The server is shutting down.");
            }

            return await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        public async Task LeaveAsync(ClientConnection connection)
        {
            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_queue.Writer.TryWrite(new LeaveItem(connection, completion)))
            {
                await completion.Task.ConfigureAwait(false);
            }
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
            var window = owner._delivery.ReorderWindow;
            try
            {
                while (true)
                {
                    if (_held.Count > 0 && owner._time.GetElapsedTime(_heldSince) >= window)
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
                    var remaining = window - owner._time.GetElapsedTime(_heldSince);
                    if (remaining > TimeSpan.Zero)
                    {
                        using var timeout = new CancellationTokenSource(remaining, owner._time);
                        using var link = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
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
                switch (left)
                {
                    case JoinItem join:
                        join.Completion.TrySetException(new ChatStoreUnavailableException("The server is shutting down."));
                        break;
                    case LeaveItem leave:
                        leave.Completion.TrySetResult();
                        break;
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
                switch (item)
                {
                    case JoinItem join:
                        join.Completion.TrySetException(ex);
                        break;
                    case LeaveItem leave:
                        leave.Completion.TrySetResult();
                        break;
                    case null:
                        // Never spin on a failing gap fill: deliver what is held (clients page the rest with history).
                        FlushHeld(force: true);
                        break;
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

                case JoinItem join when !IsJoined(join.Connection):
                    // A removal of the user was handled between the join's start and this step (the engine records the room
                    // in Joined before it queues a join, and only a removal takes it out meanwhile): the join must not
                    // bring the connection back behind the removal's back.
                    join.Completion.TrySetException(new ChatException(ChatErrorCodes.Forbidden, "The user was removed from the room."));
                    break;

                case JoinItem join:
                    // A join needs the boundary; if the store does not answer, the join fails (unavailable) and the client
                    // retries. Reading the store's last seq also repairs a tail the transport dropped with no later message
                    // to reveal the gap: it is delivered to the current members before the new one is added.
                    await CatchUpWithStoreAsync(cancellationToken).ConfigureAwait(false);
                    await join.Connection.Sink.AddAsync(room, join.Connection, cancellationToken).ConfigureAwait(false);
                    if (_members.Add(join.Connection))
                    {
                        _sinks[join.Connection.Sink] = _sinks.GetValueOrDefault(join.Connection.Sink) + 1;
                        Volatile.Write(ref _memberCount, _members.Count);
                    }

                    join.Completion.TrySetResult(_lastDelivered);
                    break;

                case LeaveItem leave:
                    await RemoveMemberAsync(leave.Connection).ConfigureAwait(false);
                    leave.Completion.TrySetResult();
                    break;

                case EventItem { Event: MembershipChanged changed } e when e.Generation == _currentGeneration:
                    await ApplyMembershipChangeAsync(changed).ConfigureAwait(false);
                    break;

                case MessageItem m when m.Generation == _currentGeneration:
                    await DeliverSequencedAsync(m.Event, m.Seq, cancellationToken).ConfigureAwait(false);
                    break;

                case EventItem { Event: TransportResumed } e when e.Generation == _currentGeneration:
                    // The transport may have lost events of this room while it was down: compare with the store.
                    if (_initialized)
                    {
                        var before = _lastDelivered;
                        await CatchUpWithStoreAsync(cancellationToken).ConfigureAwait(false);
                        if (_lastDelivered > before)
                        {
                            owner.LogReconciled(room, _lastDelivered);
                        }
                    }

                    break;

                case EventItem { Event: PresenceChanged or UserTyping or ReadMarkerMoved or UserMentioned } e when e.Generation == _currentGeneration:
                    DeliverToSinks(e.Event);
                    break;

                default:
                    // An event of an earlier subscription (or of an unknown kind): the reset that follows re-reads the store.
                    break;
            }
        }

        /// <summary>Whether the engine still counts the room among the connection's rooms.</summary>
        private bool IsJoined(ClientConnection connection)
        {
            if (UserChannels.IsUserChannel(room))
            {
                return true; // nobody is removed from their own channel
            }

            lock (connection.Joined)
            {
                return connection.Joined.Any(joined => string.Equals(joined.Value, room, StringComparison.Ordinal));
            }
        }

        /// <summary>Takes a connection out of the room's audience (its sink first removes it); false when it was no member.</summary>
        private async Task<bool> RemoveMemberAsync(ClientConnection connection)
        {
            if (!_members.Remove(connection))
            {
                return false;
            }

            var sink = connection.Sink;
            if (_sinks.TryGetValue(sink, out var count) && count > 1)
            {
                _sinks[sink] = count - 1;
            }
            else
            {
                _sinks.Remove(sink);
            }

            Volatile.Write(ref _memberCount, _members.Count);
            try
            {
                // Awaited before the pump's next step: nothing the pump delivers after this reaches the connection.
                await sink.RemoveAsync(room, connection, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                owner.LogDeliveryFailed(room, ex);
            }

            return true;
        }

        /// <summary>
        /// A committed membership change: for a removal or a ban, takes every local connection of the user out of the room
        /// (in this step, so that nothing the pump delivers after it reaches them) and tells them <c>removed</c>; then hands
        /// the change to the sinks of the remaining members (the <c>member</c> event).
        /// </summary>
        private async Task ApplyMembershipChangeAsync(MembershipChanged changed)
        {
            if (changed.Change is MemberChange.Removed or MemberChange.Banned && changed.UserId != Guid.Empty)
            {
                List<ClientConnection>? removed = null;
                foreach (var member in _members)
                {
                    if (member.User.UserId == changed.UserId)
                    {
                        (removed ??= []).Add(member);
                    }
                }

                if (removed is not null)
                {
                    foreach (var connection in removed)
                    {
                        await RemoveMemberAsync(connection).ConfigureAwait(false);
                    }

                    foreach (var connection in removed)
                    {
                        owner.CompleteRemoval(connection, this);
                    }

                    var reason = string.IsNullOrEmpty(changed.Reason) ? (changed.Change == MemberChange.Banned ? "banned" : "removed") : changed.Reason;
                    foreach (var bySink in removed.GroupBy(connection => connection.Sink))
                    {
                        try
                        {
                            bySink.Key.DeliverRemoved(room, [.. bySink], reason);
                        }
                        catch (Exception ex)
                        {
                            owner.LogDeliveryFailed(room, ex);
                        }
                    }

                    owner.LogMemberRemoved(room, changed.UserId, removed.Count);
                }
            }

            DeliverToSinks(changed);
        }

        /// <summary>Initializes the pump from the store's last seq, or delivers what the store has beyond the last delivered one.</summary>
        private async Task CatchUpWithStoreAsync(CancellationToken cancellationToken)
        {
            if (UserChannels.IsUserChannel(room))
            {
                _initialized = true; // a user's channel has no sequence: read and mention events go out as they come
                return;
            }

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
        }

        /// <summary>Delivers an event of the room's sequence in <c>seq</c> order: new messages and updates alike.</summary>
        private async Task DeliverSequencedAsync(RoomEvent sequenced, long seq, CancellationToken cancellationToken)
        {
            if (!_initialized)
            {
                try
                {
                    // The event was stored before it was published, so the store's last seq includes it: it is dropped
                    // below and members get it from their join's catch-up instead.
                    _lastDelivered = await owner._store.Messages.GetLastSeqAsync(room, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    owner.LogInitFailed(room, ex);
                    _lastDelivered = seq - 1;
                }

                _initialized = true;
            }

            if (seq <= _lastDelivered)
            {
                return; // already delivered (or covered by the joins' catch-up): never a duplicate
            }

            if (seq > _lastDelivered + 1)
            {
                // Usually only reordered by concurrent publishers: hold it until its predecessors arrive or the window ends.
                if (_held.Count == 0)
                {
                    _heldSince = owner._time.GetTimestamp();
                }

                _held.TryAdd(seq, sequenced);
                if (_held.Count >= owner._delivery.MaxHeldMessages)
                {
                    await FillHeldGapAsync(cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            Deliver(sequenced, seq);
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
                    FlushHeld(force: true); // the store could not fill it: deliver what is held anyway
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
                var seq = _held.Keys[0];
                if (seq <= _lastDelivered)
                {
                    _held.RemoveAt(0);
                    continue;
                }

                if (seq != _lastDelivered + 1 && !force)
                {
                    break;
                }

                _held.RemoveAt(0);
                Deliver(next, seq);
                flushed = true;
            }

            if (flushed && _held.Count > 0)
            {
                _heldSince = owner._time.GetTimestamp();
            }
        }

        /// <summary>Delivers the events (new messages and updates, each message in its current state) after the last delivered
        /// one and before <paramref name="upToExclusive"/> from the store's event sequence; false when it could not.</summary>
        private async Task<bool> FillGapAsync(long upToExclusive, CancellationToken cancellationToken)
        {
            try
            {
                while (_lastDelivered + 1 < upToExclusive)
                {
                    var page = await RoomEventReader.ReadAsync(owner._store.Messages, room, _lastDelivered, upToExclusive - 1, owner._delivery.GapFillPageSize, cancellationToken).ConfigureAwait(false);
                    if (page.Count == 0)
                    {
                        owner.LogGapFillFailed(room, _lastDelivered, upToExclusive, null);
                        return false;
                    }

                    foreach (var missing in page)
                    {
                        if (missing.Seq > _lastDelivered)
                        {
                            Deliver(ToRoomEvent(missing), missing.Seq);
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

        private void Deliver(RoomEvent sequenced, long seq)
        {
            _lastDelivered = seq;
            DeliverToSinks(sequenced);
            if (_members.Count > 0 && sequenced is MessagePosted)
            {
                owner._metrics.MessagesDelivered.Add(_members.Count);
            }
        }

        private void DeliverToSinks(RoomEvent roomEvent)
        {
            var events = owner._metrics.DeliveryEvents;
            foreach (var sink in _sinks.Keys)
            {
                try
                {
                    sink.Deliver(room, roomEvent);
                    if (events.Enabled)
                    {
                        events.Add(1, new KeyValuePair<string, object?>("sink", ChitChatMetrics.SinkTag(sink)), new KeyValuePair<string, object?>("event", ChitChatMetrics.EventTag(roomEvent)));
                    }
                }
                catch (Exception ex)
                {
                    owner.LogDeliveryFailed(room, ex);
                }
            }
        }
    }
}
