using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ChitChat.LoadTest;

/// <summary>
/// The driver's connection: the SignalR JSON hub protocol spoken directly over a <see cref="ClientWebSocket"/>, with only
/// what a load driver needs (handshake, invocations with completions, keep-alive pings, one event). Every target (ChitChat,
/// raw SignalR, the plain WebSocket broadcast) speaks it, so the per-delivery work is the same small step for all of them:
/// split records on the record separator, recognize the <c>message</c> target and hand over the record's bytes, with no
/// deserialization into objects. The full SignalR client (and ChitChat's larger event DTOs) cost the driver more CPU per
/// delivery than the servers spend, which made the driver the bottleneck at 100 and 500 receivers.
/// </summary>
internal sealed class RawHubConnection : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
    private static readonly byte[] Ping = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");
    private static readonly byte[] MessageTarget = Encoding.UTF8.GetBytes("\"target\":\"message\",");
    private static readonly byte[] MessageUpdatedTarget = Encoding.UTF8.GetBytes("\"target\":\"messageUpdated\",");

    private readonly ClientWebSocket _socket = new();
    private readonly Uri _uri;
    private readonly Action<ReadOnlySpan<byte>>? _onMessage;
    private readonly Action<ReadOnlySpan<byte>>? _onMessageUpdated;
    private readonly ConcurrentDictionary<long, Pending> _pending = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private long _nextInvocationId;
    private Task? _receiveLoop;
    private Task? _pingLoop;

    /// <param name="hubUrl">The hub's URL (http or ws scheme); the token goes into the query as SignalR's WebSocket transport does.</param>
    /// <param name="accessToken">The bearer token, or <see langword="null"/>.</param>
    /// <param name="onMessage">Called on the receive loop with each <c>message</c> event's whole record (JSON, without the separator).</param>
    /// <param name="onMessageUpdated">Likewise for <c>messageUpdated</c> events (ChitChat's edits, deletes and reactions).</param>
    public RawHubConnection(Uri hubUrl, string? accessToken, Action<ReadOnlySpan<byte>>? onMessage, Action<ReadOnlySpan<byte>>? onMessageUpdated = null)
    {
        _onMessageUpdated = onMessageUpdated;
        var builder = new UriBuilder(hubUrl) { Scheme = hubUrl.Scheme == "https" ? "wss" : "ws" };
        if (accessToken is not null)
        {
            builder.Query = "access_token=" + Uri.EscapeDataString(accessToken);
        }

        _uri = builder.Uri;
        _onMessage = onMessage;
        _socket.Options.KeepAliveInterval = TimeSpan.Zero; // SignalR pings below keep the server's client timeout happy
    }

    /// <summary>Connects, exchanges the handshake and starts the keep-alive pings.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await _socket.ConnectAsync(_uri, ct);
        await SendAsync(Handshake, ct);
        _receiveLoop = Task.Run(ReceiveLoopAsync, CancellationToken.None);
        await _handshake.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        _pingLoop = Task.Run(PingLoopAsync, CancellationToken.None);
    }

    /// <summary>Invokes a hub method and waits for its completion (its result is not read).</summary>
    public Task InvokeAsync(string method, CancellationToken ct, params object?[] arguments) => InvokeCoreAsync(method, wantsResult: false, ct, arguments);

    /// <summary>Invokes a hub method and returns its result (a clone of the completion's <c>result</c> value).</summary>
    public async Task<JsonElement> InvokeWithResultAsync(string method, CancellationToken ct, params object?[] arguments) =>
        await InvokeCoreAsync(method, wantsResult: true, ct, arguments);

    private async Task<JsonElement> InvokeCoreAsync(string method, bool wantsResult, CancellationToken ct, object?[] arguments)
    {
        var id = Interlocked.Increment(ref _nextInvocationId);
        var completion = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = new Pending(completion, wantsResult);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("type"u8, 1);
            writer.WriteString("invocationId"u8, id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("target"u8, method);
            writer.WriteStartArray("arguments"u8);
            foreach (var argument in arguments)
            {
                switch (argument)
                {
                    case null: writer.WriteNullValue(); break;
                    case string s: writer.WriteStringValue(s); break;
                    case long l: writer.WriteNumberValue(l); break;
                    case int i: writer.WriteNumberValue(i); break;
                    default: throw new ArgumentException($"unsupported argument type {argument.GetType()}", nameof(arguments));
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        buffer.Write([RecordSeparator]);
        await SendAsync(buffer.WrittenMemory, ct);
        return await completion.Task.WaitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        _socket.Abort();
        foreach (var task in new[] { _receiveLoop, _pingLoop })
        {
            if (task is not null)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        _socket.Dispose();
        _sendLock.Dispose();
        _stop.Dispose();
    }

    private async Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task PingLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await SendAsync(Ping, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var filled = 0;
        Exception? failure = null;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2); // one record larger than the buffer
                }

                var read = await _socket.ReceiveAsync(buffer.AsMemory(filled), _stop.Token);
                if (read.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                filled += read.Count;
                var start = 0;
                int end;
                while ((end = Array.IndexOf(buffer, RecordSeparator, start, filled - start)) >= 0)
                {
                    OnRecord(buffer.AsSpan(start, end - start));
                    start = end + 1;
                }

                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                    filled -= start;
                }
            }
        }
        catch (Exception e)
        {
            failure = e;
        }

        Exception closed = failure is OperationCanceledException ? new OperationCanceledException("connection disposed") : new WebSocketException($"connection closed ({failure?.Message ?? _socket.CloseStatusDescription})");
        _handshake.TrySetException(closed);
        foreach (var pending in _pending.Values)
        {
            pending.Completion.TrySetException(closed);
        }
    }

    private void OnRecord(ReadOnlySpan<byte> record)
    {
        if (!_handshake.Task.IsCompleted)
        {
            if (record.IndexOf("\"error\""u8) >= 0)
            {
                _handshake.TrySetException(new InvalidOperationException("handshake refused: " + Encoding.UTF8.GetString(record)));
            }

            _handshake.TrySetResult();
            return;
        }

        // The hot path: an event. SignalR writes "type" first, so an invocation record starts with {"type":1,.
        if (record.Length > 9 && record[8] == (byte)'1' && record.StartsWith("{\"type\":"u8))
        {
            if (_onMessage is not null && record.IndexOf(MessageTarget) >= 0)
            {
                _onMessage(record);
            }
            else if (_onMessageUpdated is not null && record.IndexOf(MessageUpdatedTarget) >= 0)
            {
                _onMessageUpdated(record);
            }

            return;
        }

        if (record.StartsWith("{\"type\":3"u8))
        {
            OnCompletion(record);
        }
        else if (record.StartsWith("{\"type\":7"u8))
        {
            _stop.Cancel(); // the server closed the connection
        }
    }

    private void OnCompletion(ReadOnlySpan<byte> record)
    {
        var reader = new Utf8JsonReader(record);
        long id = 0;
        string? error = null;
        JsonElement result = default;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("invocationId"u8))
            {
                reader.Read();
                id = long.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = reader.GetString();
            }
            else if (reader.ValueTextEquals("result"u8) && id != 0 && _pending.TryGetValue(id, out var waiting) && waiting.WantsResult)
            {
                reader.Read();
                using var document = JsonDocument.ParseValue(ref reader);
                result = document.RootElement.Clone();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (_pending.TryRemove(id, out var pending))
        {
            if (error is null)
            {
                pending.Completion.TrySetResult(result);
            }
            else
            {
                pending.Completion.TrySetException(new InvalidOperationException("hub error: " + error));
            }
        }
    }

    /// <summary>Reads the first <c>"seq":</c> number of a record's arguments: a <c>message</c>'s own seq, or a
    /// <c>messageUpdated</c> event's seq (it precedes the message in the event).</summary>
    public static bool TryReadSeq(ReadOnlySpan<byte> record, out long seq)
    {
        seq = 0;
        var arguments = record.IndexOf("\"arguments\":"u8);
        if (arguments < 0)
        {
            return false;
        }

        var rest = record[arguments..];
        var at = rest.IndexOf("\"seq\":"u8);
        return at >= 0 && Utf8Parser.TryParse(rest[(at + 6)..], out seq, out _);
    }

    private sealed record Pending(TaskCompletionSource<JsonElement> Completion, bool WantsResult);

    /// <summary>Reads the driver's two numbers from a <c>message</c> record: the text starts with <c>index|timestamp|</c>.</summary>
    public static bool TryReadIndexAndTimestamp(ReadOnlySpan<byte> record, out int index, out long sentAt)
    {
        index = 0;
        sentAt = 0;
        var at = record.IndexOf("\"text\":\""u8);
        if (at < 0)
        {
            return false;
        }

        var rest = record[(at + 8)..];
        if (!Utf8Parser.TryParse(rest, out index, out var used) || used >= rest.Length || rest[used] != (byte)'|')
        {
            return false;
        }

        rest = rest[(used + 1)..];
        return Utf8Parser.TryParse(rest, out sentAt, out used) && used < rest.Length && rest[used] == (byte)'|';
    }
}
