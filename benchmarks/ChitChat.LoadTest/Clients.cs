using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChitChat.Client;
using ChitChat.Contracts;

namespace ChitChat.LoadTest;

/// <summary>Gets bearer tokens: ChitChat issues them at login; the baseline accepts HS256 tokens signed with the shared key.</summary>
internal static class Tokens
{
    /// <summary>Registers (unless the user exists) and logs in through the .NET SDK; the driver's connections then use the token.</summary>
    public static async Task<string> ChitChatTokenAsync(HttpMessageHandler http, Uri server, string userName, string password, CancellationToken ct)
    {
        await using var client = new ChitChatClient(new ChitChatClientOptions { Server = server, HttpMessageHandler = http });
        try
        {
            await client.RegisterAsync(userName, password, ct);
        }
        catch (ChitChatException e) when (e.Code == ChatErrorCodes.UserExists)
        {
        }

        var login = await client.LoginAsync(userName, password, ct);
        return login.AccessToken;
    }

    /// <summary>Creates a room through the .NET SDK as the given user.</summary>
    public static async Task CreateRoomAsync(HttpMessageHandler http, Uri server, string token, string room, CancellationToken ct)
    {
        await using var client = new ChitChatClient(new ChitChatClientOptions { Server = server, HttpMessageHandler = http, AccessTokenProvider = _ => ValueTask.FromResult(token) });
        await client.CreateRoomAsync(room, ct);
    }

    public static string BaselineToken(string signingKey, string userName)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var exp = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds();
        var payload = B64(Encoding.UTF8.GetBytes($$"""{"sub":"{{userName}}","name":"{{userName}}","exp":{{exp}}}"""));
        var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingKey), Encoding.UTF8.GetBytes(header + "." + payload)));
        return header + "." + payload + "." + signature;
    }
}

/// <summary>Per-room delivery bookkeeping shared by the receivers of one room.</summary>
internal sealed class RoomPlan(string name, int totalMessages, int warmup)
{
    private int _warmupBoundary = int.MaxValue;

    private int _nextIndex = -1;

    public string Name { get; } = name;

    public int TotalMessages { get; } = totalMessages;

    /// <summary>Gets the capacity of warm-up positions (warm-up runs in rounds until its time is up).</summary>
    public int Warmup { get; } = warmup;

    /// <summary>Gets or sets the last warm-up position: everything up to it is warm-up (not counted). Until the warm-up
    /// ends every delivery is warm-up; then it is set to the number of warm-up messages actually sent.</summary>
    public int WarmupBoundary
    {
        get => Volatile.Read(ref _warmupBoundary);
        set => Volatile.Write(ref _warmupBoundary, value);
    }

    public List<Participant> Receivers { get; } = [];

    public int NextIndex() => Interlocked.Increment(ref _nextIndex);
}

/// <summary>One client connection: a receiver (joined to its room), a sender, or both. Every target gets the same
/// <see cref="RawHubConnection"/> and the same per-delivery step (find the text, read two numbers, mark a byte).</summary>
internal sealed class Participant : IAsyncDisposable
{
    private readonly Target _target;
    private readonly RunCounters _counters;
    private readonly RoomPlan _room;
    private readonly byte[] _seen;
    private readonly long[] _latencyTicks;
    private readonly long[] _sentTicks;
    private int _latencyCount;
    private int _warmupSeen;
    private readonly bool _bySeq;
    private readonly ConcurrentQueue<string> _unreacted = new();
    private readonly List<string> _own = [];

    /// <param name="countBySeq">Count deliveries by the room's <c>seq</c> (ChitChat's mixed scenario, where edits and
    /// reactions are <c>messageUpdated</c> events with a <c>seq</c> of their own) instead of the driver's message index.</param>
    public Participant(Target target, Uri server, string token, RoomPlan room, bool receiver, RunCounters counters, bool countBySeq = false)
    {
        _bySeq = countBySeq;
        _target = target;
        _counters = counters;
        _room = room;
        IsReceiver = receiver;
        _seen = receiver ? new byte[room.TotalMessages + 1] : [];
        _latencyTicks = receiver ? new long[room.TotalMessages] : [];
        _sentTicks = receiver ? new long[room.TotalMessages] : [];
        var path = target == Target.WebSocket ? "/ws" : ChitChatRoutes.Hub;
        Connection = new RawHubConnection(new Uri(server, path), token, receiver ? OnMessage : null, receiver && countBySeq ? OnMessageUpdated : null);
    }

    public RawHubConnection Connection { get; }

    public bool IsReceiver { get; }

    public RoomPlan Room => _room;

    public int WarmupSeen => Volatile.Read(ref _warmupSeen);

    public ReadOnlySpan<long> Latencies => _latencyTicks.AsSpan(0, _latencyCount);

    /// <summary>Gets the send timestamps of <see cref="Latencies"/>, index for index.</summary>
    public ReadOnlySpan<long> SentAt => _sentTicks.AsSpan(0, _latencyCount);

    public async Task ConnectAndJoinAsync(bool join, CancellationToken ct)
    {
        await Connection.StartAsync(ct);
        if (join)
        {
            if (_target == Target.ChitChat)
            {
                await Connection.InvokeAsync(HubMethods.JoinRoom, ct, _room.Name, null);
            }
            else
            {
                await Connection.InvokeAsync("JoinRoom", ct, _room.Name);
            }
        }
    }

    public Task SendAsync(int index, CancellationToken ct) => SendToAsync(_room.Name, index, ct);

    /// <summary>Sends the message with the driver's <paramref name="index"/> in <paramref name="room"/> and waits for its ack.</summary>
    public Task SendToAsync(string room, int index, CancellationToken ct)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{index}|{Stopwatch.GetTimestamp()}|load test message");
        return _target == Target.ChitChat
            ? Connection.InvokeAsync(HubMethods.SendMessage, ct, room, text, $"lt-{room}-{index}")
            : Connection.InvokeAsync("SendMessage", ct, room, text);
    }

    /// <summary>
    /// The mixed scenario's operation with the driver's <paramref name="index"/>: 16 in 20 are sends, 3 reactions and 1 an
    /// edit (ChitChat). Every operation changes something, so each takes exactly one <c>seq</c>: a reaction goes to one of
    /// this sender's own messages it has not reacted to yet, an edit gives one of them a new text. Until there is such a
    /// message the operation is a send.
    /// </summary>
    public async Task MixedAsync(int index, CancellationToken ct)
    {
        var kind = index % 20;
        if (kind is >= 16 and < 19 && _unreacted.TryDequeue(out var target))
        {
            await Connection.InvokeAsync(HubMethods.React, ct, _room.Name, target, "👍");
            Interlocked.Increment(ref _counters.Reactions);
            return;
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"{index}|{Stopwatch.GetTimestamp()}|load test message");
        string? own = null;
        if (kind == 19)
        {
            lock (_own)
            {
                own = _own.Count == 0 ? null : _own[index % _own.Count];
            }
        }

        if (own is not null)
        {
            await Connection.InvokeAsync(HubMethods.EditMessage, ct, _room.Name, own, text);
            Interlocked.Increment(ref _counters.Edits);
            return;
        }

        var ack = await Connection.InvokeWithResultAsync(HubMethods.SendMessage, ct, _room.Name, text, $"lt-{_room.Name}-{index}");
        var id = ack.GetProperty("id").GetString()!;
        _unreacted.Enqueue(id);
        lock (_own)
        {
            _own.Add(id);
        }
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    private void OnMessageUpdated(ReadOnlySpan<byte> record)
    {
        var now = Stopwatch.GetTimestamp();
        if (!RawHubConnection.TryReadSeq(record, out var seq))
        {
            Interlocked.Increment(ref _counters.Unexpected);
            return;
        }

        // An edit carries its own send time in the new text; a reaction's message text is the original one's (no latency).
        long? sentAt = record.IndexOf("\"change\":\"reactions\""u8) < 0 && RawHubConnection.TryReadIndexAndTimestamp(record, out _, out var editedAt) ? editedAt : null;
        Count(now, seq, sentAt);
    }

    private void OnMessage(ReadOnlySpan<byte> record)
    {
        var now = Stopwatch.GetTimestamp();
        if (!RawHubConnection.TryReadIndexAndTimestamp(record, out var index, out var sentAt))
        {
            Interlocked.Increment(ref _counters.Unexpected);
            return;
        }

        if (_bySeq)
        {
            if (!RawHubConnection.TryReadSeq(record, out var seq))
            {
                Interlocked.Increment(ref _counters.Unexpected);
                return;
            }

            Count(now, seq, sentAt);
            return;
        }

        // Position: the driver's message index + 1 (the same for every target; ChitChat's seq is not read).
        Count(now, index + 1L, sentAt);
    }

    private void Count(long now, long position, long? sentAt)
    {
        if (position < 1 || position > _room.TotalMessages)
        {
            Interlocked.Increment(ref _counters.Unexpected);
            return;
        }

        if (_seen[position]++ > 0)
        {
            Interlocked.Increment(ref _counters.Duplicates);
            return;
        }

        if (position <= _room.WarmupBoundary)
        {
            Interlocked.Increment(ref _warmupSeen);
            _counters.SignalWarmup();
            return;
        }

        if (sentAt is { } at)
        {
            _sentTicks[_latencyCount] = at;
            _latencyTicks[_latencyCount++] = now - at;
        }

        _counters.Delivered();
    }
}

/// <summary>Counters of one measured run.</summary>
internal sealed class RunCounters(long expectedMeasured)
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _delivered;
    private long _warmDelivered;
    public long Duplicates;
    public long Unexpected;
    public long Reactions;
    public long Edits;
    public long LastDeliveryTimestamp;

    public long DeliveredCount => Interlocked.Read(ref _delivered);

    public Task Done => _done.Task;

    public long WarmDelivered => Interlocked.Read(ref _warmDelivered);

    public void Delivered()
    {
        Volatile.Write(ref LastDeliveryTimestamp, Stopwatch.GetTimestamp());
        if (Interlocked.Increment(ref _delivered) == expectedMeasured)
        {
            _done.TrySetResult();
        }
    }

    public void SignalWarmup()
    {
        Interlocked.Increment(ref _warmDelivered);
    }
}
