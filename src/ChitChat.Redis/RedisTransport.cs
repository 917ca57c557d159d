using System.Collections.Concurrent;
using System.Text.Json;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChitChat.Redis;

/// <summary>
/// Fans room events out over Redis pub/sub (one channel per room, <c>{KeyPrefix}room:{room}</c>). Each event is delivered to
/// this node's subscribers at once and published to Redis once; other nodes deliver it to theirs, and the publishing node
/// ignores its own echo, so local delivery is exactly once whether Redis is up or not. While Redis is unreachable events reach
/// this node only and <see cref="Status"/> is <see cref="TransportStatus.Degraded"/>; once it is back the rooms are
/// subscribed again and the status returns to <see cref="TransportStatus.Healthy"/>. Clients elsewhere fill gaps from history.
/// </summary>
/// <remarks>
/// Events published while a connection was down are lost for this node's subscribers, and a quiet room would stay stale
/// until its next message. So once Redis is back, the rooms that had local subscribers during the outage get a
/// <see cref="TransportResumed"/> from this node (never published), after their subscriptions are confirmed again: a
/// room subscribed while Redis was down, once its channel is finally subscribed; a room already subscribed (which
/// StackExchange.Redis subscribes again by itself on reconnect), once a PING on the subscriber connection has come back,
/// which Redis answers only after the SUBSCRIBE commands queued before it. A failure that happens during that pass is
/// answered by the next one.
/// </remarks>
public sealed partial class RedisTransport : IChatTransport, IAsyncDisposable
{
    private readonly RedisConnectionProvider _connection;
    private readonly ILogger<RedisTransport> _logger;
    private readonly string _channelPrefix;
    private readonly string _nodeId = Guid.NewGuid().ToString("N");
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, RoomState> _rooms = new(StringComparer.Ordinal);
    private readonly LocalRoomSubscribers _locals;
    private readonly CancellationTokenSource _disposing = new();
    private int _pending;
    private int _resubscribing;
    private int _resumeRequested;
    private long _failures;
    private long _handledFailures;
    private int _degradedLogged;
    private Task _resubscribe = Task.CompletedTask;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="connection">The shared Redis connection.</param>
    /// <param name="options">The Redis options (for <see cref="RedisChitChatOptions.KeyPrefix"/>).</param>
    /// <param name="logger">The logger.</param>
    public RedisTransport(RedisConnectionProvider connection, IOptions<RedisChitChatOptions> options, ILogger<RedisTransport> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _logger = logger;
        _channelPrefix = options.Value.KeyPrefix + "room:";
        _locals = new LocalRoomSubscribers(LogHandlerFailed);
        _connection.Restored += OnRestored;
        _connection.Failed += OnFailed;
    }

    /// <inheritdoc />
    public string Name => "redis";

    /// <inheritdoc />
    /// <remarks>Healthy when Redis is connected and every room with local subscribers is subscribed on Redis.</remarks>
    public TransportStatus Status =>
        _connection.IsConnected && Volatile.Read(ref _pending) == 0 ? TransportStatus.Healthy : TransportStatus.Degraded;

    /// <summary>Gets this node's id, carried in every published envelope.</summary>
    internal string NodeId => _nodeId;

    /// <inheritdoc />
    public async ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roomEvent);
        ArgumentException.ThrowIfNullOrEmpty(roomEvent.Room);

        await _locals.DeliverAsync(roomEvent, cancellationToken).ConfigureAwait(false);
        if (roomEvent is TransportResumed)
        {
            return; // a node's own signal to its own subscribers, never sent to other nodes
        }

        try
        {
            var multiplexer = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
            if (!multiplexer.IsConnected)
            {
                LogPublishSkipped(roomEvent.Room);
                LogDegradedOnce();
                return;
            }

            if (Volatile.Read(ref _pending) > 0)
            {
                StartResubscribe();
            }

            var payload = JsonSerializer.SerializeToUtf8Bytes(new RedisEnvelope(_nodeId, roomEvent), RedisJsonContext.Default.RedisEnvelope);

            // Fire-and-forget keeps publishing non-blocking; the connection still sends in order, so per-room order holds.
            await multiplexer.GetSubscriber().PublishAsync(Channel(roomEvent.Room), payload, CommandFlags.FireAndForget).ConfigureAwait(false);
            Volatile.Write(ref _degradedLogged, 0);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            // At-most-once: the local node already has the event; other nodes fill the gap from history.
            LogPublishFailed(roomEvent.Room, ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentNullException.ThrowIfNull(handler);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        LocalRoomSubscription subscription;
        try
        {
            var state = _rooms.GetOrAdd(room, static _ => new RoomState());
            subscription = _locals.Add(room, handler, RemoveAsync);
            if (state.Queue is null && !state.Pending)
            {
                state.Pending = true;
                Interlocked.Increment(ref _pending);
                await TrySubscribeRedisAsync(room, state, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }

        return subscription;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _connection.Restored -= OnRestored;
        _connection.Failed -= OnFailed;
        await _disposing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _resubscribe.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var state in _rooms.Values)
            {
                if (state.Queue is { } queue)
                {
                    state.Queue = null;
                    await UnsubscribeQuietlyAsync(queue).ConfigureAwait(false);
                }
            }

            _rooms.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }

    private RedisChannel Channel(string room) => RedisChannel.Literal(_channelPrefix + room);

    /// <summary>Subscribes a room on Redis; must run under <see cref="_gate"/>. Leaves the room pending when Redis is unreachable.</summary>
    /// <returns><see langword="true"/> when the room's channel is subscribed.</returns>
    private async Task<bool> TrySubscribeRedisAsync(string room, RoomState state, CancellationToken cancellationToken)
    {
        var multiplexer = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
        if (!multiplexer.IsConnected)
        {
            LogDegradedOnce();
            return false;
        }

        var subscriber = multiplexer.GetSubscriber();
        var channel = Channel(room);
        try
        {
            var queue = await subscriber.SubscribeAsync(channel).ConfigureAwait(false);

            // The queue delivers sequentially, which keeps each publisher's per-room order.
            queue.OnMessage(message => OnRedisMessageAsync(room, message));
            state.Queue = queue;
            state.Pending = false;
            Interlocked.Decrement(ref _pending);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Forget the half-registered subscription so that a retry cannot deliver twice; retried on reconnect.
            LogSubscribeFailed(room, ex);
            try
            {
                await subscriber.UnsubscribeAsync(channel, handler: null, CommandFlags.FireAndForget).ConfigureAwait(false);
            }
            catch (Exception cleanup) when (cleanup is RedisException or TimeoutException)
            {
                LogSubscribeFailed(room, cleanup);
            }

            return false;
        }
    }

    private async Task OnRedisMessageAsync(string room, ChannelMessage message)
    {
        RedisEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)message.Message).Span, RedisJsonContext.Default.RedisEnvelope);
        }
        catch (JsonException ex)
        {
            LogInvalidEnvelope(room, ex);
            return;
        }

        if (envelope?.Event is null || string.Equals(envelope.Node, _nodeId, StringComparison.Ordinal))
        {
            // Our own echo: delivered locally when published.
            return;
        }

        if (!string.Equals(envelope.Event.Room, room, StringComparison.Ordinal))
        {
            LogInvalidEnvelope(room, null);
            return;
        }

        await _locals.DeliverAsync(envelope.Event, _disposing.Token).ConfigureAwait(false);
    }

    /// <summary>Removes a disposed local subscription (delivery to it has already stopped); the room's last one unsubscribes its channel.</summary>
    private async ValueTask RemoveAsync(LocalRoomSubscription subscription)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_locals.Remove(subscription) || !_rooms.TryRemove(subscription.Room, out var state))
            {
                return; // other local subscribers remain (or the room is already gone)
            }

            if (state.Pending)
            {
                state.Pending = false;
                Interlocked.Decrement(ref _pending);
            }

            if (state.Queue is { } queue)
            {
                state.Queue = null;
                await UnsubscribeQuietlyAsync(queue).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task UnsubscribeQuietlyAsync(ChannelMessageQueue queue)
    {
        try
        {
            await queue.UnsubscribeAsync(CommandFlags.FireAndForget).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogUnsubscribeFailed(queue.Channel.ToString(), ex);
        }
    }

    private void OnRestored(object? sender, EventArgs e) => StartResubscribe();

    private void OnFailed(object? sender, EventArgs e) => Interlocked.Increment(ref _failures);

    /// <summary>Requests a pass that subscribes pending rooms and resumes interrupted ones; one pass runs at a time, and a request made during a pass runs another.</summary>
    private void StartResubscribe()
    {
        if (_disposing.IsCancellationRequested
            || (Volatile.Read(ref _pending) == 0 && Interlocked.Read(ref _failures) == Interlocked.Read(ref _handledFailures)))
        {
            return;
        }

        Volatile.Write(ref _resumeRequested, 1);
        if (Interlocked.Exchange(ref _resubscribing, 1) == 0)
        {
            // Tracked (awaited on dispose), never started from a constructor.
            _resubscribe = Task.Run(RunResubscribePassesAsync);
        }
    }

    private async Task RunResubscribePassesAsync()
    {
        var owned = true;
        try
        {
            while (true)
            {
                while (Interlocked.Exchange(ref _resumeRequested, 0) != 0 && !_disposing.IsCancellationRequested)
                {
                    await ResubscribePendingAsync().ConfigureAwait(false);
                }

                Volatile.Write(ref _resubscribing, 0);
                owned = false;

                // A request made after the last pass began but before the flag was cleared would otherwise wait for the next one.
                if (Volatile.Read(ref _resumeRequested) == 0 || _disposing.IsCancellationRequested || Interlocked.Exchange(ref _resubscribing, 1) != 0)
                {
                    return;
                }

                owned = true;
            }
        }
        finally
        {
            if (owned)
            {
                Volatile.Write(ref _resubscribing, 0);
            }
        }
    }

    private async Task ResubscribePendingAsync()
    {
        var resumed = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await _gate.WaitAsync(_disposing.Token).ConfigureAwait(false);
            try
            {
                var count = 0;
                foreach (var (room, state) in _rooms)
                {
                    if (state.Pending && _connection.IsConnected
                        && await TrySubscribeRedisAsync(room, state, _disposing.Token).ConfigureAwait(false))
                    {
                        // Subscribed while Redis was down: whatever was published meanwhile never reached this node.
                        count++;
                        resumed.Add(room);
                    }
                }

                if (count > 0)
                {
                    LogResubscribed(count);
                }

                await ConfirmInterruptedRoomsAsync(resumed).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogSubscribeFailed("*", ex);
        }

        await DeliverResumedAsync(resumed).ConfigureAwait(false);
    }

    /// <summary>
    /// After connection failures not yet answered, confirms the subscriber connection with a PING and adds every subscribed
    /// room to <paramref name="resumed"/>; must run under <see cref="_gate"/>. Leaves the failures unanswered when Redis does
    /// not answer yet (the next restore retries).
    /// </summary>
    private async Task ConfirmInterruptedRoomsAsync(HashSet<string> resumed)
    {
        var failures = Interlocked.Read(ref _failures);
        if (failures == Interlocked.Read(ref _handledFailures))
        {
            return;
        }

        if (_rooms.Values.Any(state => state.Queue is not null))
        {
            if (!_connection.IsConnected)
            {
                return;
            }

            try
            {
                var multiplexer = await _connection.GetAsync(_disposing.Token).ConfigureAwait(false);
                await multiplexer.GetSubscriber().PingAsync().WaitAsync(_disposing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogResumeDeferred(ex);
                return;
            }

            foreach (var (room, state) in _rooms)
            {
                if (state.Queue is not null)
                {
                    resumed.Add(room);
                }
            }
        }

        // Failures counted after the read above are answered by the next pass.
        Interlocked.Exchange(ref _handledFailures, failures);
    }

    private async Task DeliverResumedAsync(HashSet<string> rooms)
    {
        var delivered = 0;
        foreach (var room in rooms)
        {
            if (_disposing.IsCancellationRequested)
            {
                return;
            }

            if (_locals.HasSubscribers(room))
            {
                await _locals.DeliverAsync(new TransportResumed(room), _disposing.Token).ConfigureAwait(false);
                delivered++;
            }
        }

        if (delivered > 0)
        {
            LogResumed(delivered);
        }
    }

    private void LogDegradedOnce()
    {
        if (Interlocked.Exchange(ref _degradedLogged, 1) == 0)
        {
            LogDegraded();
        }
    }

    [LoggerMessage(EventId = 4101, EventName = "RedisTransportDegraded", Level = LogLevel.Warning, Message = "Redis is unreachable: room events reach this node only until it returns.")]
    private partial void LogDegraded();

    [LoggerMessage(EventId = 4102, EventName = "RedisPublishSkipped", Level = LogLevel.Debug, Message = "Redis is unreachable; an event of room {Room} was delivered on this node only.")]
    private partial void LogPublishSkipped(string room);

    [LoggerMessage(EventId = 4103, EventName = "RedisPublishFailed", Level = LogLevel.Warning, Message = "Publishing an event of room {Room} to Redis failed; it was delivered on this node only.")]
    private partial void LogPublishFailed(string room, Exception exception);

    [LoggerMessage(EventId = 4104, EventName = "RedisSubscribeFailed", Level = LogLevel.Warning, Message = "Subscribing room {Room} on Redis failed; retrying when the connection is restored.")]
    private partial void LogSubscribeFailed(string room, Exception exception);

    [LoggerMessage(EventId = 4105, EventName = "RedisUnsubscribeFailed", Level = LogLevel.Debug, Message = "Unsubscribing channel {Channel} on Redis failed.")]
    private partial void LogUnsubscribeFailed(string channel, Exception exception);

    [LoggerMessage(EventId = 4106, EventName = "RedisTransportHandlerFailed", Level = LogLevel.Error, Message = "A subscriber of room {Room} failed to handle an event.")]
    private partial void LogHandlerFailed(string room, Exception exception);

    [LoggerMessage(EventId = 4107, EventName = "RedisInvalidEnvelope", Level = LogLevel.Warning, Message = "Ignored an unreadable event on the channel of room {Room}.")]
    private partial void LogInvalidEnvelope(string room, Exception? exception);

    [LoggerMessage(EventId = 4108, EventName = "RedisResubscribed", Level = LogLevel.Information, Message = "Subscribed {Count} room(s) on Redis again; events reach every node.")]
    private partial void LogResubscribed(int count);

    [LoggerMessage(EventId = 4109, EventName = "RedisTransportResumed", Level = LogLevel.Information, Message = "Told the subscribers of {Count} room(s) that events may have been lost while Redis was unreachable; they reconcile from the store.")]
    private partial void LogResumed(int count);

    [LoggerMessage(EventId = 4110, EventName = "RedisResumeDeferred", Level = LogLevel.Debug, Message = "The Redis subscriber connection did not answer yet; rooms are resumed when the connection is restored.")]
    private partial void LogResumeDeferred(Exception exception);

    private sealed class RoomState
    {
        public ChannelMessageQueue? Queue { get; set; }

        public bool Pending { get; set; }
    }
}
