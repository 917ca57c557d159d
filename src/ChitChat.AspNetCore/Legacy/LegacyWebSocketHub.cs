using System.Buffers;
using System.Collections.Immutable;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>
/// The legacy WebSocket rooms of this node. Frames sent by legacy clients are broadcast to the legacy clients of the same
/// room only (never stored: the original client persists through <c>POST /message/create</c>). Messages posted by native
/// clients arrive through <see cref="IChatTransport"/> (one subscription per room with at least one legacy client) and are
/// forwarded as <c>{username, text, timestamp}</c>, except those created through <c>/message/create</c> (their
/// <c>clientMessageId</c> starts with <see cref="LegacyApiOptions.ClientMessageIdPrefix"/>), which the legacy sender has
/// already broadcast itself. Each client has its own bounded send queue: a slow or failing client is disconnected and
/// never delays the others.
/// </summary>
internal sealed class LegacyWebSocketHub(IChatTransport transport, IOptions<LegacyApiOptions> options, TimeProvider time, ILogger<LegacyWebSocketHub> logger)
{
    private readonly Dictionary<string, RoomGroup> _rooms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _membership = new(1, 1);
    private readonly LegacyApiOptions _options = options.Value;

    /// <summary>Gets the number of legacy connections in a room on this node (for tests and diagnostics).</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The count.</returns>
    public int CountConnections(string room)
    {
        lock (_rooms)
        {
            return _rooms.TryGetValue(room, out var group) ? group.Connections.Length : 0;
        }
    }

    /// <summary>Runs one accepted legacy WebSocket until it closes.</summary>
    /// <param name="socket">The accepted socket.</param>
    /// <param name="room">The normalized room name.</param>
    /// <param name="cancellationToken">The request's aborted token.</param>
    /// <returns>A task that completes when the socket is closed.</returns>
    public async Task RunAsync(WebSocket socket, string room, CancellationToken cancellationToken)
    {
        var connection = new Connection(socket, _options.MaxPendingFrames);
        using var limiter = _options.FrameRateLimit > 0
            ? new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = _options.FrameRateLimit,
                Window = _options.FrameRateWindow,
                SegmentsPerWindow = Math.Max(1, Math.Min(10, _options.FrameRateLimit)),
                QueueLimit = 0,
                AutoReplenishment = true,
            })
            : null;

        await JoinAsync(room, connection, cancellationToken).ConfigureAwait(false);
        LegacyLog.SocketOpened(logger, room);
        var sending = connection.RunSenderAsync();
        try
        {
            await ReceiveAsync(connection, room, limiter, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            LegacyLog.SocketFailed(logger, room, ex);
        }
        finally
        {
            await LeaveAsync(room, connection).ConfigureAwait(false);
            connection.Complete();
            try
            {
                await sending.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
                LegacyLog.SocketFailed(logger, room, ex);
            }

            LegacyLog.SocketClosed(logger, room);
        }
    }

    private async Task ReceiveAsync(Connection connection, string room, RateLimiter? limiter, CancellationToken cancellationToken)
    {
        var socket = connection.Socket;
        var buffer = ArrayPool<byte>.Shared.Rent(_options.MaxFrameBytes + 1);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length > _options.MaxFrameBytes)
                    {
                        await CloseQuietlyAsync(socket, WebSocketCloseStatus.MessageTooBig, "frame too large", cancellationToken).ConfigureAwait(false);
                        LegacyLog.FrameDropped(logger, room, "too large");
                        return;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length, _options.MaxFrameBytes + 1 - length), cancellationToken).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (length > _options.MaxFrameBytes)
                {
                    await CloseQuietlyAsync(socket, WebSocketCloseStatus.MessageTooBig, "frame too large", cancellationToken).ConfigureAwait(false);
                    LegacyLog.FrameDropped(logger, room, "too large");
                    return;
                }

                if (result.MessageType != WebSocketMessageType.Text)
                {
                    LegacyLog.FrameDropped(logger, room, "not text");
                    continue;
                }

                var frame = Normalize(buffer.AsSpan(0, length), out var reason);
                if (frame is null)
                {
                    LegacyLog.FrameDropped(logger, room, reason!);
                    continue;
                }

                if (limiter is not null)
                {
                    using var lease = limiter.AttemptAcquire();
                    if (!lease.IsAcquired)
                    {
                        LegacyLog.FrameDropped(logger, room, "rate limited");
                        continue;
                    }
                }

                Broadcast(room, frame);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Validates a client frame and re-serializes it with only the three legacy fields.</summary>
    private byte[]? Normalize(ReadOnlySpan<byte> utf8, out string? reason)
    {
        LegacyFrame? frame;
        try
        {
            frame = JsonSerializer.Deserialize(utf8, LegacyJsonContext.Default.LegacyFrame);
        }
        catch (JsonException)
        {
            reason = "invalid JSON";
            return null;
        }

        if (frame is null || string.IsNullOrWhiteSpace(frame.Text) || string.IsNullOrWhiteSpace(frame.Username))
        {
            reason = "username and text are required";
            return null;
        }

        if (frame.Username.Length > 256 || frame.Text.Length > _options.MaxFrameBytes)
        {
            reason = "field too long";
            return null;
        }

        var timestamp = frame.Timestamp.ValueKind switch
        {
            JsonValueKind.String when frame.Timestamp.GetString()!.Length <= 64 => frame.Timestamp,
            JsonValueKind.Number => frame.Timestamp,
            _ => JsonSerializer.SerializeToElement(LegacyJsonContext.FormatTime(time.GetUtcNow()), LegacyJsonContext.Default.String),
        };

        reason = null;
        return JsonSerializer.SerializeToUtf8Bytes(new LegacyFrame(frame.Username, frame.Text, timestamp), LegacyJsonContext.Default.LegacyFrame);
    }

    private void Broadcast(string room, byte[] frame)
    {
        ImmutableArray<Connection> connections;
        lock (_rooms)
        {
            if (!_rooms.TryGetValue(room, out var group))
            {
                return;
            }

            connections = group.Connections;
        }

        foreach (var connection in connections)
        {
            if (!connection.TryEnqueue(frame))
            {
                LegacyLog.SlowClient(logger, room, _options.MaxPendingFrames);
                connection.Abort();
            }
        }
    }

    private ValueTask OnRoomEventAsync(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        if (roomEvent is MessagePosted { Message: var message }
            && !(message.ClientMessageId?.StartsWith(LegacyApiOptions.ClientMessageIdPrefix, StringComparison.Ordinal) ?? false))
        {
            var timestamp = JsonSerializer.SerializeToElement(LegacyJsonContext.FormatTime(message.SentAt), LegacyJsonContext.Default.String);
            Broadcast(message.Room, JsonSerializer.SerializeToUtf8Bytes(new LegacyFrame(message.AuthorName, message.Text, timestamp), LegacyJsonContext.Default.LegacyFrame));
        }

        return ValueTask.CompletedTask;
    }

    private async Task JoinAsync(string room, Connection connection, CancellationToken cancellationToken)
    {
        await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RoomGroup? group;
            lock (_rooms)
            {
                if (_rooms.TryGetValue(room, out group))
                {
                    group.Connections = group.Connections.Add(connection);
                    return;
                }
            }

            // First legacy client of the room on this node: subscribe to native messages before it counts as joined.
            IAsyncDisposable? subscription = null;
            try
            {
                subscription = await transport.SubscribeAsync(room, OnRoomEventAsync, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Legacy-to-legacy broadcast still works; native messages will not reach this room's legacy clients.
                LegacyLog.SubscribeFailed(logger, room, ex);
            }

            lock (_rooms)
            {
                _rooms[room] = new RoomGroup { Connections = [connection], Subscription = subscription };
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    private async Task LeaveAsync(string room, Connection connection)
    {
        // Not cancellable: leaving must always clean up.
        await _membership.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            IAsyncDisposable? subscription = null;
            lock (_rooms)
            {
                if (!_rooms.TryGetValue(room, out var group))
                {
                    return;
                }

                group.Connections = group.Connections.Remove(connection);
                if (group.Connections.IsEmpty)
                {
                    _rooms.Remove(room);
                    subscription = group.Subscription;
                }
            }

            if (subscription is not null)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    private static async Task CloseQuietlyAsync(WebSocket socket, WebSocketCloseStatus status, string? description, CancellationToken cancellationToken)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(status, description, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer is gone already.
        }
    }

    private sealed class RoomGroup
    {
        public ImmutableArray<Connection> Connections { get; set; } = [];

        public IAsyncDisposable? Subscription { get; init; }
    }

    private sealed class Connection(WebSocket socket, int capacity)
    {
        private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public WebSocket Socket { get; } = socket;

        public bool TryEnqueue(byte[] frame) => _outbox.Writer.TryWrite(frame) || !IsOpen;

        public void Complete() => _outbox.Writer.TryComplete();

        public void Abort()
        {
            _outbox.Writer.TryComplete();
            Socket.Abort();
        }

        public async Task RunSenderAsync()
        {
            await foreach (var frame in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (!IsOpen)
                {
                    return;
                }

                await Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            }
        }

        private bool IsOpen => Socket.State is WebSocketState.Open or WebSocketState.CloseReceived;
    }
}
