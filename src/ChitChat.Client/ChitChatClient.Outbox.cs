using System.Threading.Channels;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.Client;

public sealed partial class ChitChatClient
{
    private readonly Lock _outboxLock = new();
    private readonly List<OutboxEntry> _outbox = [];
    private readonly Channel<bool> _outboxSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Task _outboxLoop;

    /// <summary>Raised when a message enters or leaves the outbox, or is put on the wire again (read <see cref="Outbox"/>).</summary>
    public event EventHandler? OutboxChanged;

    /// <summary>Gets a snapshot of the outbox: the messages sent (or to be sent) but not acknowledged yet, in send order.</summary>
    public IReadOnlyList<PendingMessage> Outbox
    {
        get
        {
            lock (_outboxLock)
            {
                return _outbox.Select(e => e.Snapshot()).ToArray();
            }
        }
    }

    /// <summary>
    /// Sends a message through the outbox and returns the server's acknowledgement. While the connection is down the
    /// message waits in the outbox; a message whose acknowledgement was lost (the connection dropped, the server went away)
    /// is sent again with the same <paramref name="clientMessageId"/> after the reconnect, and the server stores it once and
    /// answers with the original acknowledgement. Messages are put on the wire in the order of the calls.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The idempotency key (at most <see cref="ServerLimits.MaxClientMessageIdLength"/> characters), or <see langword="null"/> for a new one.</param>
    /// <param name="cancellationToken">
    /// Cancels waiting: the message leaves the outbox. If it was already on the wire the server may still store it.
    /// </param>
    /// <returns>The acknowledgement (id, seq, sentAt).</returns>
    /// <exception cref="ChitChatException">
    /// The server refused the message: <c>validation_failed</c>, <c>forbidden</c>, <c>room_not_found</c>,
    /// <c>payload_too_large</c>, or <c>rate_limited</c> with <see cref="ChitChatException.RetryAfter"/> (unless
    /// <see cref="ChitChatClientOptions.RetryRateLimitedSends"/>). <c>unavailable</c> is retried after its delay.
    /// </exception>
    public Task<SendMessageAck> SendAsync(string room, string text, string? clientMessageId = null, CancellationToken cancellationToken = default) =>
        SendCoreAsync(room, text, clientMessageId, cancellationToken);

    /// <summary>Sends a message through the outbox with a new <c>clientMessageId</c>; see <see cref="SendAsync(string, string, string?, CancellationToken)"/>.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Cancels waiting: the message leaves the outbox.</param>
    /// <returns>The acknowledgement (id, seq, sentAt).</returns>
    /// <exception cref="ChitChatException">The server refused the message.</exception>
    public Task<SendMessageAck> SendAsync(string room, string text, CancellationToken cancellationToken) =>
        SendCoreAsync(room, text, null, cancellationToken);

    private Task<SendMessageAck> SendCoreAsync(string room, string text, string? clientMessageId, CancellationToken cancellationToken, Guid? replyTo = null)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(text);
        if (clientMessageId is { Length: 0 })
        {
            throw new ArgumentException("A clientMessageId must not be empty.", nameof(clientMessageId));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var entry = new OutboxEntry(NormalizeRoom(room), text, clientMessageId ?? "c-" + Guid.CreateVersion7().ToString("N"), _time.GetUtcNow()) { ReplyTo = replyTo };
        lock (_outboxLock)
        {
            _outbox.Add(entry);
        }

        if (cancellationToken.CanBeCanceled)
        {
            entry.Registration = cancellationToken.Register(() => Remove(entry, e => e.Completion.TrySetCanceled(cancellationToken)));
        }

        LogQueued(entry.Room, entry.ClientMessageId);
        RaiseOutboxChanged();
        SignalOutbox();
        return entry.Completion.Task;
    }

    private void SignalOutbox() => _outboxSignal.Writer.TryWrite(true);

    private void SignalOutboxAfter(TimeSpan delay) =>
        _ = Task.Delay(delay, _time, _stopping.Token).ContinueWith(_ => SignalOutbox(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

    private void RaiseOutboxChanged() => Raise(() => OutboxChanged?.Invoke(this, EventArgs.Empty));

    /// <summary>Puts every ready message on the wire, in order, whenever signalled while connected.</summary>
    private async Task RunOutboxLoopAsync()
    {
        var reader = _outboxSignal.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            reader.TryRead(out _);
            if (_hub is not { State: HubConnectionState.Connected } hub)
            {
                continue; // the reconnect signals again
            }

            var now = _time.GetUtcNow();
            var ready = new List<(OutboxEntry Entry, int Generation)>();
            TimeSpan? wake = null;
            lock (_outboxLock)
            {
                foreach (var entry in _outbox)
                {
                    if (entry.InFlight)
                    {
                        continue;
                    }

                    if (entry.NotBefore > now)
                    {
                        var wait = entry.NotBefore - now;
                        wake = wake is null || wait < wake ? wait : wake;
                        continue;
                    }

                    entry.InFlight = true;
                    entry.Attempts++;
                    entry.Generation++;
                    ready.Add((entry, entry.Generation));
                }
            }

            if (ready.Count > 0)
            {
                RaiseOutboxChanged();
            }

            foreach (var (entry, generation) in ready)
            {
                // Started in order without waiting: SignalR writes the invocations in call order and the server numbers one
                // connection's sends in the order they arrived.
                _ = SendOneAsync(hub, entry, generation);
            }

            if (wake is { } delay)
            {
                SignalOutboxAfter(delay);
            }
        }
    }

    private async Task SendOneAsync(HubConnection hub, OutboxEntry entry, int generation)
    {
        try
        {
            var ack = entry.ReplyTo is { } replyTo
                ? await hub.InvokeAsync<SendMessageAck>(HubMethods.Reply, entry.Room, replyTo, entry.Text, entry.ClientMessageId, CancellationToken.None).ConfigureAwait(false)
                : await hub.InvokeAsync<SendMessageAck>(HubMethods.SendMessage, entry.Room, entry.Text, entry.ClientMessageId, CancellationToken.None).ConfigureAwait(false);
            LogAcked(entry.Room, entry.ClientMessageId, ack.Seq, entry.Attempts);
            Remove(entry, e => e.Completion.TrySetResult(ack));
        }
        catch (HubException ex)
        {
            var error = await ToChitChatAsync(ex).ConfigureAwait(false);
            if (error.Code == ChatErrorCodes.Unavailable || (error.Code == ChatErrorCodes.RateLimited && _options.RetryRateLimitedSends))
            {
                var delay = error.RetryAfter ?? _options.RetryDelay;
                LogSendDeferred(entry.Room, entry.ClientMessageId, error.Code, delay);
                lock (_outboxLock)
                {
                    if (entry.Generation == generation)
                    {
                        entry.InFlight = false;
                        entry.NotBefore = _time.GetUtcNow() + delay;
                    }
                }

                SignalOutboxAfter(delay);
                return;
            }

            LogSendRefused(entry.Room, entry.ClientMessageId, error.Code);
            Remove(entry, e => e.Completion.TrySetException(error));
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            // The connection dropped (or was not active): keep it; it goes out again, with the same key, after the reconnect.
            LogSendInterrupted(entry.Room, entry.ClientMessageId, ex.Message);
            bool current;
            lock (_outboxLock)
            {
                current = entry.Generation == generation;
                if (current)
                {
                    entry.InFlight = false;
                }
            }

            if (current && hub.State == HubConnectionState.Connected)
            {
                SignalOutboxAfter(_options.RetryDelay);
            }
        }
        catch (Exception)
        {
            // disposing: DisposeAsync fails the outbox
        }
    }

    /// <summary>
    /// The connection dropped: every attempt on it is lost (SignalR fails them), so all messages are due again, in outbox
    /// order, on the next connection. A late failure of an old attempt then finds a newer generation and changes nothing.
    /// </summary>
    private void ResetOutboxAttempts()
    {
        lock (_outboxLock)
        {
            foreach (var entry in _outbox)
            {
                if (entry.InFlight)
                {
                    entry.InFlight = false;
                    entry.Generation++;
                }
            }
        }
    }

    private void Remove(OutboxEntry entry, Action<OutboxEntry> complete)
    {
        bool removed;
        lock (_outboxLock)
        {
            removed = _outbox.Remove(entry);
        }

        complete(entry);
        entry.Registration.Dispose();
        if (removed)
        {
            RaiseOutboxChanged();
        }
    }

    private void FailOutbox(Exception error)
    {
        List<OutboxEntry> entries;
        lock (_outboxLock)
        {
            entries = [.. _outbox];
            _outbox.Clear();
        }

        foreach (var entry in entries)
        {
            entry.Completion.TrySetException(error);
            entry.Registration.Dispose();
        }
    }

    private sealed class OutboxEntry(string room, string text, string clientMessageId, DateTimeOffset enqueuedAt)
    {
        public string Room { get; } = room;

        public string Text { get; } = text;

        public string ClientMessageId { get; } = clientMessageId;

        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;

        public Guid? ReplyTo { get; init; }

        public TaskCompletionSource<SendMessageAck> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        // Guarded by the outbox lock.
        public bool InFlight { get; set; }

        public int Attempts { get; set; }

        public int Generation { get; set; }

        public DateTimeOffset NotBefore { get; set; }

        public PendingMessage Snapshot() => new(Room, Text, ClientMessageId, EnqueuedAt, Attempts) { ReplyTo = ReplyTo };
    }
}
