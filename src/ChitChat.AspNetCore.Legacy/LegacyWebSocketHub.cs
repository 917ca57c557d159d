using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.RateLimiting;
using ChitChat.Delivery;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>
/// Runs the legacy WebSockets of this node. Each socket is an anonymous <see cref="ClientConnection"/> of the
/// <see cref="LegacyDeliverySink"/> that joins its room through the <see cref="DeliveryEngine"/> (which owns the node's
/// transport subscription of the room, ordering and gap filling) and leaves it when it closes; native messages reach it
/// through the sink. Frames sent by legacy clients are broadcast to the legacy sockets of the same room on this node only
/// (never stored nor published: the original client persists through <c>POST /message/create</c>), with a per-socket rate
/// limit.
/// </summary>
internal sealed class LegacyWebSocketHub(DeliveryEngine delivery, LegacyDeliverySink sink, IOptions<LegacyApiOptions> options, TimeProvider time, ILogger<LegacyWebSocketHub> logger)
{
    private readonly LegacyApiOptions _options = options.Value;

    /// <summary>Runs one accepted legacy WebSocket until it closes.</summary>
    /// <param name="socket">The accepted socket.</param>
    /// <param name="room">The normalized room name.</param>
    /// <param name="cancellationToken">The request's aborted token.</param>
    /// <returns>A task that completes when the socket is closed.</returns>
    public async Task RunAsync(WebSocket socket, string room, CancellationToken cancellationToken)
    {
        var legacy = sink.Open(socket);
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

        var sending = legacy.RunSenderAsync();
        try
        {
            await JoinAsync(legacy, room, cancellationToken).ConfigureAwait(false);
            LegacyLog.SocketOpened(logger, room);
            await ReceiveAsync(legacy, room, limiter, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            LegacyLog.SocketFailed(logger, room, ex);
        }
        finally
        {
            // Not cancellable: leaving must always clean up.
            await delivery.DisconnectAsync(legacy.Connection).ConfigureAwait(false);
            sink.Close(legacy);
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

    /// <summary>Joins the room in the delivery engine: no catch-up (ChitChat 1 clients load history through
    /// <c>/message/all/</c>), every later message live. When the engine cannot take the socket (the store or the transport
    /// is down), the socket still joins the room's legacy broadcast, as it did before the engine existed.</summary>
    private async Task JoinAsync(LegacySocket legacy, string room, CancellationToken cancellationToken)
    {
        try
        {
            await delivery.JoinAsync(legacy.Connection, new RoomJoinRequest(RoomName.Parse(room), AfterSeq: null, RecentLimit: 0), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LegacyLog.JoinFailed(logger, room, ex);
            sink.AddLocal(room, legacy);
        }
    }

    private async Task ReceiveAsync(LegacySocket legacy, string room, RateLimiter? limiter, CancellationToken cancellationToken)
    {
        var socket = legacy.Socket;
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

                sink.Broadcast(room, frame);
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
}
