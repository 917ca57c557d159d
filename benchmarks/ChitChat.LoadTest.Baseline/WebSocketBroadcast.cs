using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

/// <summary>
/// The load test's upper bound: a plain Kestrel WebSocket broadcast. It speaks just enough of the SignalR JSON hub
/// protocol (handshake, <c>JoinRoom</c> and <c>SendMessage</c> invocations with completions, pings) for the driver to use
/// one client for every target, serializes each message once and hands the same bytes to every member's socket. No
/// authentication, persistence, sequence numbers or hub machinery: what remains is the cost of the sockets themselves.
/// </summary>
internal static class WebSocketBroadcast
{
    private const byte RecordSeparator = 0x1e;
    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<Connection, byte>> Rooms = new(StringComparer.Ordinal);

    public static async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new Connection(socket);
        var writer = connection.RunWriterAsync(context.RequestAborted);
        try
        {
            await connection.RunReaderAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            foreach (var room in connection.Rooms)
            {
                if (Rooms.TryGetValue(room, out var members))
                {
                    members.TryRemove(connection, out _);
                }
            }

            connection.Outbox.Writer.TryComplete();
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private sealed class Connection(WebSocket socket)
    {
        public Channel<byte[]> Outbox { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });

        public List<string> Rooms { get; } = [];

        public async Task RunReaderAsync(CancellationToken ct)
        {
            var buffer = new byte[16 * 1024];
            var filled = 0;
            var handshaken = false;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var read = await socket.ReceiveAsync(buffer.AsMemory(filled), ct);
                if (read.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                filled += read.Count;
                var start = 0;
                int end;
                while ((end = Array.IndexOf(buffer, RecordSeparator, start, filled - start)) >= 0)
                {
                    var record = buffer.AsSpan(start, end - start);
                    start = end + 1;
                    if (!handshaken)
                    {
                        handshaken = true;
                        Outbox.Writer.TryWrite("{}\u001e"u8.ToArray());
                    }
                    else
                    {
                        OnInvocation(record);
                    }
                }

                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                    filled -= start;
                }
            }
        }

        public async Task RunWriterAsync(CancellationToken ct)
        {
            // Coalesces whatever is queued into one WebSocket message (records are self-delimited), as SignalR's pipe does.
            var batch = new ArrayBufferWriter<byte>(64 * 1024);
            var reader = Outbox.Reader;
            while (await reader.WaitToReadAsync(ct))
            {
                batch.ResetWrittenCount();
                while (batch.WrittenCount < 64 * 1024 && reader.TryRead(out var frame))
                {
                    batch.Write(frame);
                }

                await socket.SendAsync(batch.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, ct);
            }
        }

        private void OnInvocation(ReadOnlySpan<byte> record)
        {
            var reader = new Utf8JsonReader(record);
            string? id = null, target = null;
            var type = 0;
            var arguments = new List<string?>(3);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "type": type = reader.GetInt32(); break;
                    case "invocationId": id = reader.GetString(); break;
                    case "target": target = reader.GetString(); break;
                    case "arguments":
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            arguments.Add(reader.TokenType == JsonTokenType.String ? reader.GetString() : null);
                            reader.Skip();
                        }

                        break;
                    default: reader.Skip(); break;
                }
            }

            if (type != 1 || arguments.Count == 0 || arguments[0] is not { } room)
            {
                return; // pings and anything else
            }

            if (target == "JoinRoom")
            {
                Rooms.Add(room);
                WebSocketBroadcast.Rooms.GetOrAdd(room, _ => new()).TryAdd(this, 0);
            }
            else if (target == "SendMessage" && arguments.Count > 1 && WebSocketBroadcast.Rooms.TryGetValue(room, out var members))
            {
                var frame = Serialize(room, arguments[1] ?? "");
                foreach (var member in members.Keys)
                {
                    member.Outbox.Writer.TryWrite(frame); // the same bytes for every member
                }
            }

            if (id is not null)
            {
                Outbox.Writer.TryWrite(Encoding.UTF8.GetBytes($"{{\"type\":3,\"invocationId\":\"{id}\",\"result\":null}}\u001e"));
            }
        }

        private static byte[] Serialize(string room, string text)
        {
            var buffer = new ArrayBufferWriter<byte>(128 + text.Length);
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteNumber("type"u8, 1);
                json.WriteString("target"u8, "message");
                json.WriteStartArray("arguments"u8);
                json.WriteStartObject();
                json.WriteString("room"u8, room);
                json.WriteString("authorName"u8, "load");
                json.WriteString("text"u8, text);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }

            buffer.Write([RecordSeparator]);
            return buffer.WrittenSpan.ToArray();
        }
    }
}
