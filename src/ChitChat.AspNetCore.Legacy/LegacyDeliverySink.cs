using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using ChitChat.Delivery;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>
/// The delivery engine's sink for legacy WebSockets: per room, the legacy sockets of this node, each with its own bounded
/// send queue. The engine decides what reaches a room and when (<see cref="DeliveryEngine"/>); this sink writes
/// <see cref="MessagePosted"/> as <c>{username, text, timestamp}</c> frames and ignores presence, typing and member
/// changes, which ChitChat 1 never had.
/// </summary>
/// <remarks>
/// <para>
/// <b>Origin, not a key prefix.</b> Messages created through <c>POST /message/create</c> carry
/// <see cref="ChatMessage.Origin"/> = <see cref="MessageOrigins.Legacy"/> and are skipped here: the ChitChat 1 client that
/// created one has already broadcast its text over the WebSocket itself. The origin is set by the server, so a native
/// client cannot hide a message from legacy clients (it could, when this was a <c>legacy-</c> prefix on the idempotency key).
/// </para>
/// <para>
/// <b>A slow socket never delays the others.</b> <see cref="Deliver"/> and <see cref="Broadcast"/> serialize a frame once and
/// only enqueue it; each socket's sender drains its own queue. A socket whose queue is full
/// (<see cref="LegacyApiOptions.MaxPendingFrames"/>) is aborted, which ends its session and removes it from its room.
/// </para>
/// </remarks>
internal sealed class LegacyDeliverySink(IOptions<LegacyApiOptions> options, ILogger<LegacyDeliverySink> logger) : IDeliverySink
{
    /// <summary>The identity of every legacy socket in the engine: anonymous (ChitChat 1 sockets never authenticate), never
    /// announced (<see cref="ClientConnection.AnnouncesPresence"/> is off) and unable to send (the empty id is no author).</summary>
    public static readonly ChatIdentity AnonymousIdentity = new(Guid.Empty, "legacy");

    private readonly LegacyApiOptions _options = options.Value;
    private readonly ConcurrentDictionary<ClientConnection, LegacySocket> _sockets = new();
    private readonly Dictionary<string, ImmutableArray<LegacySocket>> _rooms = new(StringComparer.Ordinal);

    /// <summary>Gets the number of legacy sockets in a room on this node (for tests and diagnostics).</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The count.</returns>
    public int CountConnections(string room)
    {
        lock (_rooms)
        {
            return _rooms.TryGetValue(room, out var sockets) ? sockets.Length : 0;
        }
    }

    /// <summary>Creates the session state of an accepted socket: its send queue and its connection in the delivery engine.</summary>
    /// <param name="socket">The accepted socket.</param>
    /// <returns>The legacy socket; <see cref="Close"/> it when the session ends.</returns>
    public LegacySocket Open(WebSocket socket)
    {
        var connection = new ClientConnection("legacy:" + Guid.NewGuid().ToString("N"), AnonymousIdentity, this, maxRooms: 1)
        {
            AnnouncesPresence = false,
        };
        var legacy = new LegacySocket(socket, connection, _options.MaxPendingFrames);
        _sockets[connection] = legacy;
        return legacy;
    }

    /// <summary>Adds a socket to a room without the engine: it then gets legacy frames only (used when the engine could not
    /// take it, so that legacy-to-legacy broadcast keeps working).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="socket">The socket.</param>
    public void AddLocal(string room, LegacySocket socket) => AddToRoom(room, socket);

    /// <summary>Forgets a socket whose session has ended: out of every room, and its send queue completed.</summary>
    /// <param name="socket">The socket.</param>
    public void Close(LegacySocket socket)
    {
        socket.Closed = true;
        _sockets.TryRemove(socket.Connection, out _);
        lock (_rooms)
        {
            foreach (var room in _rooms.Keys.ToArray())
            {
                RemoveFromRoom(room, socket);
            }
        }

        socket.Complete();
    }

    /// <inheritdoc />
    public ValueTask AddAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default)
    {
        if (_sockets.TryGetValue(connection, out var socket) && !socket.Closed)
        {
            AddToRoom(room, socket);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask RemoveAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default)
    {
        if (_sockets.TryGetValue(connection, out var socket))
        {
            lock (_rooms)
            {
                RemoveFromRoom(room, socket);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Deliver(string room, RoomEvent roomEvent)
    {
        // Presence, typing, member changes and anything newer: ChitChat 1 had none of them.
        if (roomEvent is not MessagePosted { Message: var message }
            || string.Equals(message.Origin, MessageOrigins.Legacy, StringComparison.Ordinal))
        {
            return;
        }

        var timestamp = JsonSerializer.SerializeToElement(LegacyJsonContext.FormatTime(message.SentAt), LegacyJsonContext.Default.String);
        Broadcast(room, JsonSerializer.SerializeToUtf8Bytes(new LegacyFrame(message.AuthorName, message.Text, timestamp), LegacyJsonContext.Default.LegacyFrame));
    }

    /// <inheritdoc />
    /// <remarks>Never called in practice: legacy sockets are anonymous (<see cref="AnonymousIdentity"/>), so no member is ever
    /// removed from them, and ChitChat 1 has no frame for it (they are in public rooms only, and <c>member</c> events are
    /// ignored by <see cref="Deliver"/> like presence). A socket handed here is taken out of nothing more: it already left.</remarks>
    public void DeliverRemoved(string room, IReadOnlyList<ClientConnection> connections, string reason)
    {
    }

    /// <summary>Enqueues a frame to every legacy socket of a room on this node (a legacy client's own frames come here
    /// directly: they are never stored nor published).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="frame">The UTF-8 JSON frame.</param>
    public void Broadcast(string room, byte[] frame)
    {
        ImmutableArray<LegacySocket> sockets;
        lock (_rooms)
        {
            if (!_rooms.TryGetValue(room, out sockets))
            {
                return;
            }
        }

        foreach (var socket in sockets)
        {
            if (!socket.TryEnqueue(frame))
            {
                LegacyLog.SlowClient(logger, room, _options.MaxPendingFrames);
                socket.Abort();
            }
        }
    }

    private void AddToRoom(string room, LegacySocket socket)
    {
        lock (_rooms)
        {
            var sockets = _rooms.GetValueOrDefault(room, []);
            if (!sockets.Contains(socket))
            {
                _rooms[room] = sockets.Add(socket);
            }
        }
    }

    /// <summary>Removes a socket from a room; the caller holds the lock on <c>_rooms</c>.</summary>
    private void RemoveFromRoom(string room, LegacySocket socket)
    {
        if (_rooms.TryGetValue(room, out var sockets))
        {
            sockets = sockets.Remove(socket);
            if (sockets.IsEmpty)
            {
                _rooms.Remove(room);
            }
            else
            {
                _rooms[room] = sockets;
            }
        }
    }
}

/// <summary>One legacy WebSocket: the socket, its bounded send queue and its connection in the delivery engine.</summary>
/// <param name="socket">The accepted socket.</param>
/// <param name="connection">Its connection in the delivery engine.</param>
/// <param name="capacity">How many frames may wait before the socket counts as too slow.</param>
internal sealed class LegacySocket(WebSocket socket, ClientConnection connection, int capacity)
{
    private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    public WebSocket Socket { get; } = socket;

    public ClientConnection Connection { get; } = connection;

    private volatile bool _closed;

    /// <summary>Gets or sets whether the session has ended (set once, so that a late add from the engine does not bring it back).</summary>
    public bool Closed
    {
        get => _closed;
        set => _closed = value;
    }

    private bool IsOpen => Socket.State is WebSocketState.Open or WebSocketState.CloseReceived;

    /// <summary>Enqueues a frame; false only when the queue is full while the socket is still open (a slow client).</summary>
    public bool TryEnqueue(byte[] frame) => _outbox.Writer.TryWrite(frame) || !IsOpen;

    public void Complete() => _outbox.Writer.TryComplete();

    public void Abort()
    {
        _outbox.Writer.TryComplete();
        Socket.Abort();
    }

    /// <summary>Writes queued frames in order until the queue is completed or the socket closes.</summary>
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
}
