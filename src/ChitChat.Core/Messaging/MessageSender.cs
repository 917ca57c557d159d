using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using ChitChat.Delivery;
using ChitChat.Diagnostics;
using ChitChat.RateLimiting;
using ChitChat.Membership;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Messaging;

/// <summary>
/// Sends messages: validates them, applies the sender's rate limit, appends them to the store (a retry with the same
/// <see cref="SendMessageRequest.ClientMessageId"/> returns the original and stores nothing), then publishes them to the
/// room's receivers through the transport.
/// </summary>
/// <remarks>
/// <para>
/// The store is the truth and the transport a best-effort notification: a send succeeds once its message is durable, and a
/// publish that fails is only logged, because receivers detect the gap from <c>seq</c> and fill it from the store. For the
/// same reason a durable message is published even when the caller has gone away meanwhile (the publish does not take the
/// caller's token); otherwise live receivers of a quiet room would not see it until the next message revealed the gap.
/// </para>
/// <para>
/// A retry whose original was accepted gets its acknowledgement without costing a rate-limit permit: only a send the limit
/// rejects looks its key up, so a client that retries after a lost acknowledgement is not punished for it.
/// </para>
/// </remarks>
public sealed partial class MessageSender
{
    private readonly IChatStore _store;
    private readonly IChatTransport _transport;
    private readonly MembershipService _membership;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ChitChatMetrics _metrics;
    private readonly ILogger<MessageSender> _logger;
    private readonly IChatRateLimiter _limiter;
    private readonly RateLimitPolicy? _sendPolicy;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="transport">The transport.</param>
    /// <param name="membership">The membership rules (who may send: not banned, not muted; a send to a public room joins it).</param>
    /// <param name="limiter">The rate limiter (the send limit is policy <c>send</c>, per user).</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="meterFactory">The meter factory (instruments of the <c>ChitChat</c> meter).</param>
    /// <param name="logger">The logger.</param>
    public MessageSender(
        IChatStore store,
        IChatTransport transport,
        MembershipService membership,
        IChatRateLimiter limiter,
        IOptions<ChitChatOptions> options,
        TimeProvider time,
        IMeterFactory meterFactory,
        ILogger<MessageSender> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _transport = transport;
        _membership = membership;
        _options = options.Value;
        _time = time;
        _metrics = ChitChatMetrics.For(meterFactory);
        _logger = logger;
        _limiter = limiter;
        _sendPolicy = _options.SendRateLimit > 0 ? new RateLimitPolicy("send", _options.SendRateLimit, _options.SendRateWindow) : null;
    }

    /// <summary>
    /// Sends a message as <paramref name="author"/>. With the client <paramref name="connection"/> it comes from, the
    /// connection's sends are stored, numbered and delivered in the order it made them, even when they run concurrently
    /// (ordered pipelining: each waits only until the previous one is sequenced by the store, not until it is durable).
    /// </summary>
    /// <param name="author">The authenticated author.</param>
    /// <param name="request">The message.</param>
    /// <param name="connection">The client connection the send comes from (its user must be <paramref name="author"/>), or
    /// <see langword="null"/> for a send that is not ordered with others (HTTP).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests. Once the message is durable it no
    /// longer stops the publish.</param>
    /// <returns>The stored message and whether it was new.</returns>
    /// <exception cref="ChatException">
    /// <see cref="ChatErrorCodes.Unauthorized"/>, <see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.PayloadTooLarge"/>,
    /// <see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/> (banned, muted), <see cref="ChatErrorCodes.RateLimited"/> or <see cref="ChatErrorCodes.Unavailable"/>.
    /// </exception>
    public Task<AppendResult> SendAsync(ChatIdentity author, SendMessageRequest request, ClientConnection? connection = null, CancellationToken cancellationToken = default)
    {
        if (connection is not null && connection.User != author)
        {
            throw new ArgumentException("The connection belongs to another user than the author.", nameof(connection));
        }

        return SendAsync(author, request, connection?.SendOrder, cancellationToken);
    }

    /// <summary>Sends a message in the order of <paramref name="order"/> (see <see cref="SendOrder"/>).</summary>
    internal async Task<AppendResult> SendAsync(ChatIdentity author, SendMessageRequest request, SendOrder? order, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        using var activity = ChitChatDiagnostics.ActivitySource.StartActivity(ChitChatInstrumentNames.SendActivity, ActivityKind.Internal);

        // The turn is taken before the first await, so that the order of the calls is the order of the appends; it is
        // passed on in the finally whatever happens.
        var (previousTurn, turn) = order is null ? (Task.CompletedTask, null) : order.Enter();
        try
        {
            if (author.UserId == Guid.Empty || string.IsNullOrEmpty(author.UserName))
            {
                throw new ChatException(ChatErrorCodes.Unauthorized, "An authenticated author is required.");
            }

            var room = request.Room ?? throw ChatException.Validation("room", "A room name is required.");
            activity?.SetTag("chitchat.room", room.Value);
            var text = MessageText.Parse(request.Text, _options.MaxMessageLength);
            var key = ValidateClientMessageId(request.ClientMessageId);
            if (request.Authorize is { } authorize)
            {
                await authorize(cancellationToken).ConfigureAwait(false);
            }

            // The one access check of every send (hub, HTTP, legacy): visible, not banned, not muted; joins a public room.
            await _membership.EnsureCanSendAsync(author, room, cancellationToken).ConfigureAwait(false);

            // No read before the append: the append dedups by clientMessageId atomically and returns the original
            // (Created = false), whose author Duplicate checks. Only a send the rate limit rejects looks the key up, so that a
            // retry of an accepted message gets its ack even when the sender has since reached the limit.
            if (_sendPolicy is not null)
            {
                // Per user, across the cluster when the limiter is shared (Redis).
                var decision = await _limiter.AcquireAsync(_sendPolicy, author.UserId.ToString("N"), cancellationToken).ConfigureAwait(false);
                if (!decision.IsAllowed)
                {
                    if (key is not null
                        && await _store.Messages.FindByClientMessageIdAsync(room.Value, key, cancellationToken).ConfigureAwait(false) is { } original)
                    {
                        return Duplicate(author, original);
                    }

                    var retryAfter = decision.RetryAfter > TimeSpan.Zero ? decision.RetryAfter : _options.SendRateWindow;
                    throw new ChatException(
                        ChatErrorCodes.RateLimited,
                        string.Create(CultureInfo.InvariantCulture, $"at most {_options.SendRateLimit} messages per {_options.SendRateWindow.TotalSeconds:0.###} seconds"),
                        retryAfter: retryAfter);
                }
            }

            // A reply must answer a message of this room that is not deleted (read before the turn: it does not depend on order).
            // A retry of an accepted reply still gets its ack when the answered message was deleted since.
            Guid? threadRoot = null;
            if (request.ReplyTo is { } replyTo)
            {
                var answered = await _store.Messages.FindAsync(room.Value, replyTo, cancellationToken).ConfigureAwait(false);
                if (answered is null || answered.Deleted)
                {
                    if (key is not null
                        && await _store.Messages.FindByClientMessageIdAsync(room.Value, key, cancellationToken).ConfigureAwait(false) is { } original)
                    {
                        return Duplicate(author, original);
                    }

                    throw answered is null
                        ? MessageOperations.MessageNotFound(replyTo)
                        : new ChatException(ChatErrorCodes.Forbidden, "A deleted message cannot be answered.");
                }

                threadRoot = answered.ThreadRoot ?? answered.Id;
            }

            var mentions = await Mentions.ResolveAsync(_store, room.Value, text.Value, cancellationToken).ConfigureAwait(false);

            if (!previousTurn.IsCompleted)
            {
                // Never faults or cancels: every turn is completed in a finally. Not cancellable either, so that a
                // cancelled send cannot let the sends after it overtake the one before it.
                await previousTurn.ConfigureAwait(false);
            }

            var now = _time.GetUtcNow();
            var message = new NewMessage(Guid.CreateVersion7(now), room.Value, author.UserId, author.UserName, text.Value, now, key)
            {
                Origin = request.Origin,
                ReplyTo = request.ReplyTo,
                ThreadRoot = threadRoot,
                Mentions = mentions,
            };
            var append = _store.Messages.BeginAppend(message, cancellationToken);
            if (turn is not null)
            {
                // The next send's append starts once this one is sequenced (for most stores: as soon as it is queued).
                PassTurn(append.Sequenced, turn);
            }

            var result = await append.Durable.ConfigureAwait(false);
            activity?.SetTag("chitchat.seq", result.Message.Seq);
            if (!result.Created)
            {
                return Duplicate(author, result.Message);
            }

            _metrics.MessagesSent.Add(1);
            try
            {
                // Not the caller's token: once the message is durable it must be published even when the caller has gone
                // away, or live receivers of a quiet room would not see it until the next message reveals the gap.
                await _transport.PublishAsync(new MessagePosted(result.Message), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The message is durable; receivers detect the gap from seq and fill it from history.
                LogPublishFailed(room.Value, result.Message.Seq, ex);
            }

            await MessagePublishing.PublishMentionsAsync(_transport, result.Message, [], _logger, CancellationToken.None).ConfigureAwait(false);
            return result;
        }
        catch (ChatException ex)
        {
            if (_metrics.SendRejected.Enabled)
            {
                _metrics.SendRejected.Add(1, new KeyValuePair<string, object?>("code", ex.Code));
            }

            activity?.SetStatus(ActivityStatusCode.Error, ex.Code);
            throw;
        }
        finally
        {
            if (turn is not null)
            {
                PassTurn(previousTurn, turn);
            }

            _metrics.SendDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>Passes a send's turn on once the turn before it has passed: a send that ends before its append (rejected,
    /// cancelled) must not let the sends after it overtake the ones before it.</summary>
    private static void PassTurn(Task previousTurn, TaskCompletionSource turn)
    {
        if (previousTurn.IsCompleted)
        {
            turn.TrySetResult();
        }
        else
        {
            previousTurn.ContinueWith(static (_, state) => ((TaskCompletionSource)state!).TrySetResult(), turn, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private AppendResult Duplicate(ChatIdentity author, ChatMessage original)
    {
        // The key is unique per room, not per author: another author's message must not be returned as this sender's
        // ack, or the sender would believe a message was stored that never was.
        if (original.AuthorId != author.UserId)
        {
            throw ChatException.Validation("clientMessageId", "This clientMessageId is already used in this room by another author.");
        }

        LogDuplicateSend(original.Room, original.Seq);
        return new AppendResult(original, false);
    }

    private string? ValidateClientMessageId(string? clientMessageId)
    {
        if (clientMessageId is null)
        {
            return null;
        }

        if (clientMessageId.Length == 0 || clientMessageId.Length > _options.MaxClientMessageIdLength || !clientMessageId.All(c => c is > ' ' and < (char)0x7F))
        {
            throw ChatException.Validation("clientMessageId", string.Create(CultureInfo.InvariantCulture, $"clientMessageId is 1 to {_options.MaxClientMessageIdLength} printable ASCII characters."));
        }

        return clientMessageId;
    }

    [LoggerMessage(EventId = 1004, EventName = "DuplicateSend", Level = LogLevel.Debug, Message = "A retry in room {Room} returned the original message {Seq}.")]
    private partial void LogDuplicateSend(string room, long seq);

    [LoggerMessage(EventId = 1005, EventName = "PublishFailed", Level = LogLevel.Warning, Message = "Publishing an event of room {Room} (seq {Seq}) failed; receivers will fill the gap from history.")]
    private partial void LogPublishFailed(string room, long seq, Exception exception);
}
