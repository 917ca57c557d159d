using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using ChitChat.Diagnostics;
using ChitChat.Presence;
using ChitChat.Security;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat;

/// <summary>A registration request.</summary>
/// <param name="UserName">The user name: letters, digits, <c>_ . -</c>.</param>
/// <param name="Password">The password.</param>
/// <param name="FirstName">The optional first name.</param>
/// <param name="LastName">The optional last name.</param>
public sealed record RegisterRequest(string? UserName, string? Password, string? FirstName = null, string? LastName = null);

/// <summary>
/// The one place that holds ChitChat's rules: registration and credentials, rooms, sending (validation, rate limit,
/// idempotency, persistence, then fan-out), history, catch-up, presence and typing. Hosts (HTTP, hub, legacy API,
/// workers) call it and translate its <see cref="ChatException"/>s to their wire format.
/// </summary>
public sealed partial class ChatService : IDisposable
{
    private readonly IChatStore _store;
    private readonly IChatTransport _transport;
    private readonly IPresenceTracker _presence;
    private readonly IPasswordHasher _hasher;
    private readonly TimeProvider _time;
    private readonly ChitChatMetrics _metrics;
    private readonly ILogger<ChatService> _logger;
    private readonly ChitChatOptions _options;
    private readonly PartitionedRateLimiter<Guid>? _sendLimiter;
    private readonly ConcurrentDictionary<string, ChatRoom> _knownRooms = new(StringComparer.Ordinal);

    // Verified against when the user is unknown, so that an unknown user costs the same as a wrong password:
    // made by the configured hasher, hence with the configured work factor.
    private readonly Lazy<string> _dummyHash;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="transport">The transport.</param>
    /// <param name="presence">The presence tracker.</param>
    /// <param name="hasher">The password hasher.</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="metrics">The metrics.</param>
    /// <param name="logger">The logger.</param>
    public ChatService(
        IChatStore store,
        IChatTransport transport,
        IPresenceTracker presence,
        IPasswordHasher hasher,
        IOptions<ChitChatOptions> options,
        TimeProvider time,
        ChitChatMetrics metrics,
        ILogger<ChatService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(presence);
        ArgumentNullException.ThrowIfNull(hasher);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _transport = transport;
        _presence = presence;
        _hasher = hasher;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _options = options.Value;
        _dummyHash = new Lazy<string>(() => hasher.Hash(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))));
        if (_options.SendRateLimit > 0)
        {
            var permits = _options.SendRateLimit;
            var window = _options.SendRateWindow;
            _sendLimiter = PartitionedRateLimiter.Create<Guid, Guid>(userId => RateLimitPartition.GetSlidingWindowLimiter(userId, _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = window,
                SegmentsPerWindow = Math.Max(1, Math.Min(10, permits)),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }
    }

    /// <summary>Gets the store this service writes to.</summary>
    public IChatStore Store => _store;

    /// <summary>Gets the options in force.</summary>
    public ChitChatOptions Options => _options;

    /// <summary>Normalizes and validates a room name (a case-insensitive slug of <c>[a-z0-9_-]</c>, 1 to 64 characters).</summary>
    /// <param name="room">The room name as given.</param>
    /// <param name="field">The field name for the validation error.</param>
    /// <returns>The lower-case room name.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> when invalid.</exception>
    public static string NormalizeRoomName(string? room, string field = "room")
    {
        if (string.IsNullOrEmpty(room))
        {
            throw ChatException.Validation(field, "A room name is required.");
        }

        var normalized = room.ToLowerInvariant();
        if (!RoomNameRegex().IsMatch(normalized))
        {
            throw ChatException.Validation(field, "A room name is 1 to 64 characters of a-z, 0-9, '-' and '_'.");
        }

        return normalized;
    }

    /// <summary>Registers a user.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The new user.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.UserExists"/>.</exception>
    public async Task<ChatUser> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, string[]>();
        var userName = request.UserName?.Trim();
        if (string.IsNullOrEmpty(userName))
        {
            errors["userName"] = ["A user name is required."];
        }
        else if (userName.Length < _options.MinUserNameLength || userName.Length > _options.MaxUserNameLength || !UserNameRegex().IsMatch(userName))
        {
            errors["userName"] = [string.Create(CultureInfo.InvariantCulture, $"A user name is {_options.MinUserNameLength} to {_options.MaxUserNameLength} characters of letters, digits, '_', '.' and '-'.")];
        }

        if (string.IsNullOrEmpty(request.Password))
        {
            errors["password"] = ["A password is required."];
        }
        else if (request.Password.Length < _options.MinPasswordLength || request.Password.Length > _options.MaxPasswordLength)
        {
            errors["password"] = [string.Create(CultureInfo.InvariantCulture, $"A password is {_options.MinPasswordLength} to {_options.MaxPasswordLength} characters.")];
        }

        var firstName = ValidatePersonName(request.FirstName, "firstName", errors);
        var lastName = ValidatePersonName(request.LastName, "lastName", errors);
        if (errors.Count > 0)
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The registration is not valid.", errors);
        }

        var now = _time.GetUtcNow();
        var user = new ChatUser(Guid.CreateVersion7(now), userName!, firstName, lastName, _hasher.Hash(request.Password!), now, now, 1);
        if (!await _store.Users.TryCreateAsync(user, cancellationToken).ConfigureAwait(false))
        {
            throw new ChatException(ChatErrorCodes.UserExists, $"The user name '{userName}' is taken.");
        }

        LogUserRegistered(user.Id);
        return user;
    }

    /// <summary>Verifies a user name and password, taking the same time whether or not the user exists.</summary>
    /// <param name="userName">The user name (any case).</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.InvalidCredentials"/> when the user is unknown or the password is wrong.</exception>
    public async Task<ChatUser> VerifyCredentialsAsync(string? userName, string? password, CancellationToken cancellationToken = default)
    {
        ChatUser? user = null;
        if (!string.IsNullOrWhiteSpace(userName) && userName.Length <= _options.MaxUserNameLength)
        {
            user = await _store.Users.FindByNameAsync(userName.Trim(), cancellationToken).ConfigureAwait(false);
        }

        password ??= string.Empty;
        if (password.Length > _options.MaxPasswordLength)
        {
            password = string.Empty;
            user = null;
        }

        // Always run one verification so that an unknown user costs the same as a wrong password.
        var ok = _hasher.Verify(user?.PasswordHash ?? _dummyHash.Value, password) && user is not null;
        if (!ok)
        {
            LogInvalidCredentials();
            throw new ChatException(ChatErrorCodes.InvalidCredentials, "The user name or password is incorrect.");
        }

        return user!;
    }

    /// <summary>Finds a user by id.</summary>
    /// <param name="userId">The id.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user or <see langword="null"/>.</returns>
    public Task<ChatUser?> FindUserAsync(Guid userId, CancellationToken cancellationToken = default) =>
        _store.Users.FindByIdAsync(userId, cancellationToken);

    /// <summary>Creates the default room if it does not exist. Called at start-up.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The default room.</returns>
    public async Task<ChatRoom> EnsureDefaultRoomAsync(CancellationToken cancellationToken = default)
    {
        var name = _options.DefaultRoom;
        var existing = await _store.Rooms.FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return _knownRooms.GetOrAdd(name, existing);
        }

        var room = new ChatRoom(Guid.CreateVersion7(_time.GetUtcNow()), name, null, _time.GetUtcNow(), 1);
        await _store.Rooms.TryCreateAsync(room, cancellationToken).ConfigureAwait(false);
        return await GetRoomAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the rooms.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms ordered by name.</returns>
    public Task<IReadOnlyList<ChatRoom>> GetRoomsAsync(CancellationToken cancellationToken = default) => _store.Rooms.ListAsync(cancellationToken);

    /// <summary>Gets a room by name.</summary>
    /// <param name="room">The room name (any case).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<ChatRoom> GetRoomAsync(string? room, CancellationToken cancellationToken = default)
    {
        var name = NormalizeRoomName(room);
        if (_knownRooms.TryGetValue(name, out var known))
        {
            return known;
        }

        var found = await _store.Rooms.FindByNameAsync(name, cancellationToken).ConfigureAwait(false)
            ?? throw new ChatException(ChatErrorCodes.RoomNotFound, $"The room '{name}' does not exist.");
        return _knownRooms.GetOrAdd(name, found); // rooms are never deleted, so caching them is safe
    }

    /// <summary>Creates a room.</summary>
    /// <param name="name">The room name (any case; stored lower-case).</param>
    /// <param name="creator">The creator.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomExists"/>.</exception>
    public async Task<ChatRoom> CreateRoomAsync(string? name, ChatIdentity creator, CancellationToken cancellationToken = default)
    {
        var normalized = NormalizeRoomName(name, "name");
        var now = _time.GetUtcNow();
        var room = new ChatRoom(Guid.CreateVersion7(now), normalized, creator.UserId, now, 1);
        if (!await _store.Rooms.TryCreateAsync(room, cancellationToken).ConfigureAwait(false))
        {
            throw new ChatException(ChatErrorCodes.RoomExists, $"The room '{normalized}' already exists.");
        }

        _knownRooms.TryAdd(normalized, room);
        LogRoomCreated(normalized);
        return room;
    }

    /// <summary>
    /// Sends a message: validates it, applies the sender's rate limit, stores it (a retry with the same
    /// <paramref name="clientMessageId"/> returns the original and stores nothing), then publishes it to the room.
    /// </summary>
    /// <param name="author">The authenticated author.</param>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The optional idempotency key.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The stored message and whether it was new.</returns>
    /// <exception cref="ChatException">
    /// <see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.PayloadTooLarge"/>, <see cref="ChatErrorCodes.RoomNotFound"/>,
    /// <see cref="ChatErrorCodes.RateLimited"/> or <see cref="ChatErrorCodes.Unavailable"/>.
    /// </exception>
    public Task<AppendResult> SendAsync(ChatIdentity author, string? room, string? text, string? clientMessageId, CancellationToken cancellationToken) =>
        SendAsync(author, room, text, clientMessageId, null, cancellationToken);

    /// <summary>Sends a message from a client connection: its pipelined sends keep the order it made them in (see
    /// <see cref="SendOrder"/>). Otherwise the same as <see cref="SendAsync(ChatIdentity, string?, string?, string?, CancellationToken)"/>.</summary>
    /// <param name="connection">The sending connection; its user is the author.</param>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The optional idempotency key.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The stored message and whether it was new.</returns>
    public Task<AppendResult> SendAsync(Delivery.ClientConnection connection, string? room, string? text, string? clientMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return SendAsync(connection.User, room, text, clientMessageId, connection.SendOrder, cancellationToken);
    }

    /// <summary>
    /// Sends a message as <paramref name="author"/>, in the order of <paramref name="order"/>: of the sends made with the same
    /// <see cref="SendOrder"/>, one started earlier gets the lower <c>seq</c>, even when they run concurrently (see
    /// <see cref="SendOrder"/>). Otherwise the same as <see cref="SendAsync(ChatIdentity, string?, string?, string?, CancellationToken)"/>.
    /// </summary>
    /// <param name="author">The authenticated author.</param>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The optional idempotency key.</param>
    /// <param name="order">The sender's ordering scope, or <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The stored message and whether it was new.</returns>
    /// <exception cref="ChatException">
    /// <see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.PayloadTooLarge"/>, <see cref="ChatErrorCodes.RoomNotFound"/>,
    /// <see cref="ChatErrorCodes.RateLimited"/> or <see cref="ChatErrorCodes.Unavailable"/>.
    /// </exception>
    public Task<AppendResult> SendAsync(ChatIdentity author, string? room, string? text, string? clientMessageId, SendOrder? order = null, CancellationToken cancellationToken = default) =>
        SendCoreAsync(author, room, text, clientMessageId, origin: null, order, cancellationToken);

    /// <summary>
    /// Sends a message that came in through another surface than ChitChat's own API, recording it as the message's
    /// <see cref="ChatMessage.Origin"/> (for example <see cref="MessageOrigins.Legacy"/>), so that the sinks of that surface can
    /// recognize it. The origin is the server's decision, never a client's. Otherwise the same as
    /// <see cref="SendAsync(ChatIdentity, string?, string?, string?, CancellationToken)"/>.
    /// </summary>
    /// <param name="author">The authenticated author.</param>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The optional idempotency key.</param>
    /// <param name="origin">The surface the message came in through (<see cref="MessageOrigins"/>), or <see langword="null"/> for ChitChat's own API.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The stored message and whether it was new.</returns>
    /// <exception cref="ChatException">
    /// <see cref="ChatErrorCodes.ValidationFailed"/>, <see cref="ChatErrorCodes.PayloadTooLarge"/>, <see cref="ChatErrorCodes.RoomNotFound"/>,
    /// <see cref="ChatErrorCodes.RateLimited"/> or <see cref="ChatErrorCodes.Unavailable"/>.
    /// </exception>
    public Task<AppendResult> SendWithOriginAsync(ChatIdentity author, string? room, string? text, string? clientMessageId, string? origin, CancellationToken cancellationToken = default) =>
        SendCoreAsync(author, room, text, clientMessageId, origin, order: null, cancellationToken);

    private async Task<AppendResult> SendCoreAsync(ChatIdentity author, string? room, string? text, string? clientMessageId, string? origin, SendOrder? order, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = ChitChatDiagnostics.ActivitySource.StartActivity("chitchat.send", ActivityKind.Internal);

        // The turn is taken before the first await, so that the order of the calls is the order of the appends; it is
        // passed on in the finally whatever happens.
        var (previousTurn, turn) = order is null ? (Task.CompletedTask, null) : order.Enter();
        try
        {
            if (author.UserId == Guid.Empty || string.IsNullOrEmpty(author.UserName))
            {
                throw new ChatException(ChatErrorCodes.Unauthorized, "An authenticated author is required.");
            }

            var roomName = NormalizeRoomName(room);
            activity?.SetTag("chitchat.room", roomName);
            ValidateText(text);
            var key = ValidateClientMessageId(clientMessageId);
            await GetRoomAsync(roomName, cancellationToken).ConfigureAwait(false);

            // No read before the append: the append dedups by clientMessageId atomically and returns the original
            // (Created = false), whose author Duplicate checks. Only a send the rate limit rejects looks the key up, so that a
            // retry of an accepted message gets its ack even when the sender has since reached the limit.
            if (_sendLimiter is not null)
            {
                using var lease = _sendLimiter.AttemptAcquire(author.UserId);
                if (!lease.IsAcquired)
                {
                    if (key is not null
                        && await _store.Messages.FindByClientMessageIdAsync(roomName, key, cancellationToken).ConfigureAwait(false) is { } original)
                    {
                        return Duplicate(author, original);
                    }

                    var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var ra) ? ra : _options.SendRateWindow;
                    throw new ChatException(
                        ChatErrorCodes.RateLimited,
                        string.Create(CultureInfo.InvariantCulture, $"at most {_options.SendRateLimit} messages per {_options.SendRateWindow.TotalSeconds:0.###} seconds"),
                        retryAfter: retryAfter);
                }
            }

            if (!previousTurn.IsCompleted)
            {
                // Never faults or cancels: every turn is completed in a finally. Not cancellable either, so that a
                // cancelled send cannot let the sends after it overtake the one before it.
                await previousTurn.ConfigureAwait(false);
            }

            var message = new NewMessage(Guid.CreateVersion7(_time.GetUtcNow()), roomName, author.UserId, author.UserName, text!, _time.GetUtcNow(), key) { Origin = origin };
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
                await _transport.PublishAsync(new MessagePosted(result.Message), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The message is durable; receivers detect the gap from seq and fill it from history.
                LogPublishFailed(roomName, result.Message.Seq, ex);
            }

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

    /// <summary>Reads a page of history, ascending by sequence number.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="beforeSeq">Only messages before this sequence number (the latest of them).</param>
    /// <param name="afterSeq">Only messages after this sequence number (the earliest of them).</param>
    /// <param name="limit">The page size (default <see cref="ChitChatOptions.DefaultHistoryPageSize"/>, at most <see cref="ChitChatOptions.MaxHistoryPageSize"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string? room, long? beforeSeq = null, long? afterSeq = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var roomName = NormalizeRoomName(room);
        if (limit is < 1)
        {
            throw ChatException.Validation("limit", "limit must be at least 1.");
        }

        if (beforeSeq is < 1)
        {
            throw ChatException.Validation("before", "before must be at least 1.");
        }

        if (afterSeq is < 0)
        {
            throw ChatException.Validation("after", "after must not be negative.");
        }

        await GetRoomAsync(roomName, cancellationToken).ConfigureAwait(false);
        var pageSize = Math.Min(limit ?? _options.DefaultHistoryPageSize, _options.MaxHistoryPageSize);
        return await _store.Messages.QueryAsync(roomName, new MessageQuery(afterSeq, beforeSeq, pageSize), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads what a client missed: every message after <paramref name="afterSeq"/> up to the room's last one, capped at <see cref="ChitChatOptions.CatchUpLimit"/>.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last sequence number the client saw (0 or <see langword="null"/> for none).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The catch-up.</returns>
    public Task<CatchUpResult> CatchUpAsync(string? room, long? afterSeq, CancellationToken cancellationToken) =>
        CatchUpAsync(room, afterSeq, null, cancellationToken);

    /// <summary>
    /// Reads what a client missed: every message after <paramref name="afterSeq"/> up to and including
    /// <paramref name="upToSeq"/> (by default the room's last one), capped at <see cref="ChitChatOptions.CatchUpLimit"/>
    /// (then <see cref="CatchUpResult.HasMore"/>). A host that delivers everything after a known boundary live (the hub's
    /// <c>JoinRoom</c>) passes that boundary, so catch-up and live delivery meet without a gap or an overlap.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last sequence number the client saw (0 or <see langword="null"/> for none).</param>
    /// <param name="upToSeq">The last sequence number to return, or <see langword="null"/> for the room's last one; it is the
    /// result's <see cref="CatchUpResult.LastSeq"/>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The catch-up.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<CatchUpResult> CatchUpAsync(string? room, long? afterSeq, long? upToSeq = null, CancellationToken cancellationToken = default)
    {
        var roomName = NormalizeRoomName(room);
        if (afterSeq is < 0)
        {
            throw ChatException.Validation("afterSeq", "afterSeq must not be negative.");
        }

        if (upToSeq is < 0)
        {
            throw ChatException.Validation("upToSeq", "upToSeq must not be negative.");
        }

        await GetRoomAsync(roomName, cancellationToken).ConfigureAwait(false);
        var lastSeq = upToSeq ?? await _store.Messages.GetLastSeqAsync(roomName, cancellationToken).ConfigureAwait(false);
        var after = afterSeq ?? 0;
        if (after >= lastSeq)
        {
            return new CatchUpResult(roomName, lastSeq, [], false);
        }

        var page = await _store.Messages.QueryAsync(roomName, new MessageQuery(after, lastSeq + 1, _options.CatchUpLimit), cancellationToken).ConfigureAwait(false);
        var hasMore = page.Count > 0 ? page[^1].Seq < lastSeq : lastSeq > after;
        return new CatchUpResult(roomName, lastSeq, page, hasMore);
    }

    /// <summary>Marks a connection of a user present in a room and announces the user when they came online.</summary>
    /// <param name="room">The normalized room name.</param>
    /// <param name="connectionId">The connection id.</param>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when recorded.</returns>
    public async Task EnterRoomAsync(string room, string connectionId, ChatIdentity user, CancellationToken cancellationToken = default)
    {
        var online = new OnlineUser(user.UserId, user.UserName);
        if (await _presence.JoinAsync(room, connectionId, online, cancellationToken).ConfigureAwait(false))
        {
            await PublishQuietlyAsync(new PresenceChanged(room, user.UserId, user.UserName, true), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Marks a connection of a user gone from a room and announces the user when they went offline.</summary>
    /// <param name="room">The normalized room name.</param>
    /// <param name="connectionId">The connection id.</param>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when recorded.</returns>
    public async Task ExitRoomAsync(string room, string connectionId, ChatIdentity user, CancellationToken cancellationToken = default)
    {
        var online = new OnlineUser(user.UserId, user.UserName);
        if (await _presence.LeaveAsync(room, connectionId, online, cancellationToken).ConfigureAwait(false))
        {
            await PublishQuietlyAsync(new PresenceChanged(room, user.UserId, user.UserName, false), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Lists the users online in a room across all nodes.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users.</returns>
    public async Task<IReadOnlyList<OnlineUser>> GetPresenceAsync(string? room, CancellationToken cancellationToken = default)
    {
        var roomName = NormalizeRoomName(room);
        await GetRoomAsync(roomName, cancellationToken).ConfigureAwait(false);
        return await _presence.GetOnlineAsync(roomName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Announces that a user is typing in a room.</summary>
    /// <param name="user">The user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when published.</returns>
    public async Task TypingAsync(ChatIdentity user, string? room, CancellationToken cancellationToken = default)
    {
        var roomName = NormalizeRoomName(room);
        await GetRoomAsync(roomName, cancellationToken).ConfigureAwait(false);
        await PublishQuietlyAsync(new UserTyping(roomName, user.UserId, user.UserName), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _sendLimiter?.Dispose();

    private async Task PublishQuietlyAsync(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        try
        {
            await _transport.PublishAsync(roomEvent, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPublishFailed(roomEvent.Room, 0, ex);
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

    private void ValidateText(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw ChatException.Validation("text", "A message must not be empty.");
        }

        if (text.Length > _options.MaxMessageLength)
        {
            throw new ChatException(
                ChatErrorCodes.PayloadTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"A message is at most {_options.MaxMessageLength} characters."),
                new Dictionary<string, string[]> { ["text"] = [string.Create(CultureInfo.InvariantCulture, $"At most {_options.MaxMessageLength} characters.")] });
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) && c is not '\n' and not '\r' and not '\t')
            {
                throw ChatException.Validation("text", string.Create(CultureInfo.InvariantCulture, $"A message must not contain control characters (U+{(int)c:X4} at {i})."));
            }

            if (char.IsHighSurrogate(c) && (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])))
            {
                throw ChatException.Validation("text", "A message must be valid Unicode (unpaired surrogate).");
            }

            if (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1])))
            {
                throw ChatException.Validation("text", "A message must be valid Unicode (unpaired surrogate).");
            }
        }
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

    private string? ValidatePersonName(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        if (value.Length > _options.MaxPersonNameLength || value.Any(char.IsControl))
        {
            errors[field] = [string.Create(CultureInfo.InvariantCulture, $"At most {_options.MaxPersonNameLength} characters, no control characters.")];
        }

        return value;
    }

    [GeneratedRegex(@"^[a-z0-9_-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RoomNameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex UserNameRegex();

    [LoggerMessage(EventId = 1001, EventName = "UserRegistered", Level = LogLevel.Information, Message = "User {UserId} registered.")]
    private partial void LogUserRegistered(Guid userId);

    [LoggerMessage(EventId = 1002, EventName = "InvalidCredentials", Level = LogLevel.Information, Message = "A login failed: invalid credentials.")]
    private partial void LogInvalidCredentials();

    [LoggerMessage(EventId = 1003, EventName = "RoomCreated", Level = LogLevel.Information, Message = "Room {Room} created.")]
    private partial void LogRoomCreated(string room);

    [LoggerMessage(EventId = 1004, EventName = "DuplicateSend", Level = LogLevel.Debug, Message = "A retry in room {Room} returned the original message {Seq}.")]
    private partial void LogDuplicateSend(string room, long seq);

    [LoggerMessage(EventId = 1005, EventName = "PublishFailed", Level = LogLevel.Warning, Message = "Publishing an event of room {Room} (seq {Seq}) failed; receivers will fill the gap from history.")]
    private partial void LogPublishFailed(string room, long seq, Exception exception);
}
