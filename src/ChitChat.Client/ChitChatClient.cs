using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using ChitChat.Client.Internal;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Client;

/// <summary>
/// The ChitChat client: the HTTP API and the <c>/hubs/chat</c> hub connection. Room events reach each
/// <see cref="RoomSubscription"/> exactly once and in <c>seq</c> order across reconnects; sends go through an outbox that
/// re-sends an unacknowledged message with the same <c>clientMessageId</c> after a reconnect, so the server stores it once.
/// </summary>
/// <remarks>
/// Thread-safe. Events (<see cref="StateChanged"/>, <see cref="PresenceChanged"/>, <see cref="TypingReceived"/>, <see cref="MemberChanged"/>,
/// <see cref="OutboxChanged"/>, <see cref="RoomSubscription.EventReceived"/>) are raised on a background task, one at a
/// time and in order, never on SignalR's receive loop; a handler that blocks delays only later events of the same source.
/// </remarks>
public sealed partial class ChitChatClient : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ChitChatClientOptions _options;
    private readonly Uri _server;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<Action> _events = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _eventLoop;
    private readonly ConcurrentDictionary<string, RoomSubscription> _rooms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _tokenGate = new(1, 1);
    private (string UserName, string Password)? _credentials;
    private volatile string? _token;
    private DateTimeOffset _tokenRefreshAt = DateTimeOffset.MaxValue;
    private volatile bool _tokenRefused;
    private volatile ServerLimits? _limits;
    private int _disposed;

    /// <summary>Initializes a new instance. Nothing is sent until a method is called.</summary>
    /// <param name="options">The options (validated here).</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public ChitChatClient(ChitChatClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        var server = options.Server!;
        _server = server.AbsolutePath.EndsWith('/') ? server : new Uri(server.AbsoluteUri + "/"); // keep a path base
        _time = options.TimeProvider ?? TimeProvider.System;
        _loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ChitChatClient>();
        _http = options.HttpMessageHandler is { } handler
            ? new HttpClient(new ForwardingHandler(handler), disposeHandler: true)
            : new HttpClient();
        _http.BaseAddress = _server;
        if (options.UserName is { } user && options.Password is { } password)
        {
            _credentials = (user, password);
        }

        _eventLoop = RunEventLoopAsync();
        _outboxLoop = RunOutboxLoopAsync();
    }

    /// <summary>Raised when a user comes online in or leaves a joined room.</summary>
    public event EventHandler<PresenceEvent>? PresenceChanged;

    /// <summary>Raised when a user types in a joined room (the indicator expires after <see cref="ServerLimits.TypingExpiryMs"/>).</summary>
    public event EventHandler<TypingEvent>? TypingReceived;

    /// <summary>
    /// Raised when a membership of a joined room changes (<see cref="MemberEvent.Change"/>: <c>added</c>, <c>removed</c>,
    /// <c>role</c>, <c>muted</c>, <c>banned</c>). When this user is the one removed, the room's subscription ends instead
    /// (see <see cref="RoomSubscription.Removed"/>).
    /// </summary>
    public event EventHandler<MemberEvent>? MemberChanged;

    /// <summary>Gets the logged-in user (after <see cref="LoginAsync"/> or a login with the options' credentials), or <see langword="null"/>.</summary>
    public UserDto? User { get; private set; }

    /// <summary>Gets the joined rooms.</summary>
    public IReadOnlyCollection<RoomSubscription> Rooms => _rooms.Values.ToArray();

    /// <summary>Registers an account (anonymous).</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="firstName">The optional first name.</param>
    /// <param name="lastName">The optional last name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The new user.</returns>
    /// <exception cref="ChitChatException"><c>validation_failed</c> (see <see cref="ChitChatException.Errors"/>), <c>user_exists</c>, <c>rate_limited</c>.</exception>
    public Task<UserDto> RegisterAsync(string userName, string password, string? firstName = null, string? lastName = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(password);
        return SendHttpAsync<UserDto>(HttpMethod.Post, ChitChatRoutes.Register, new RegisterBody(userName, password, firstName, lastName), authenticated: false, cancellationToken);
    }

    /// <summary>Registers an account without first and last name (anonymous).</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The new user.</returns>
    /// <exception cref="ChitChatException"><c>validation_failed</c> (see <see cref="ChitChatException.Errors"/>), <c>user_exists</c>, <c>rate_limited</c>.</exception>
    public Task<UserDto> RegisterAsync(string userName, string password, CancellationToken cancellationToken) =>
        RegisterAsync(userName, password, null, null, cancellationToken);

    /// <summary>
    /// Logs in and keeps the token for the API and the hub. The credentials are kept in memory so the client logs in again
    /// when the token expires or the server refuses it (e.g. while reconnecting).
    /// </summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The login response (token, expiry, user).</returns>
    /// <exception cref="ChitChatException"><c>invalid_credentials</c>, <c>rate_limited</c>.</exception>
    /// <exception cref="InvalidOperationException">The options set an <see cref="ChitChatClientOptions.AccessTokenProvider"/>.</exception>
    public async Task<LoginResponse> LoginAsync(string userName, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(password);
        if (_options.AccessTokenProvider is not null)
        {
            throw new InvalidOperationException("This client gets its tokens from ChitChatClientOptions.AccessTokenProvider; LoginAsync is not available.");
        }

        await _tokenGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var login = await LoginCoreAsync(userName, password, cancellationToken).ConfigureAwait(false);
            _credentials = (userName, password);
            return login;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    /// <summary>Lists the caller's rooms: public rooms, and the private and direct rooms the caller is a member of.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms, ordered by name, each with the caller's role (<see langword="null"/> for a public room not joined).</returns>
    public async Task<IReadOnlyList<RoomListEntryDto>> GetRoomsAsync(CancellationToken cancellationToken = default) =>
        await SendHttpAsync<List<RoomListEntryDto>>(HttpMethod.Get, ChitChatRoutes.Rooms, null, authenticated: true, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Reads a page of a room's history over HTTP, ascending by seq: with <paramref name="afterSeq"/> the earliest messages
    /// after it, with <paramref name="beforeSeq"/> the latest before it, with neither the latest.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="limit">The page size (the server's default when <see langword="null"/>; at most <see cref="ServerLimits.MaxHistoryPageSize"/>).</param>
    /// <param name="beforeSeq">Only messages with a lower seq.</param>
    /// <param name="afterSeq">Only messages with a higher seq.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>validation_failed</c>.</exception>
    public async Task<IReadOnlyList<MessageDto>> GetHistoryAsync(string room, int? limit = null, long? beforeSeq = null, long? afterSeq = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>(3);
        if (limit is { } l)
        {
            query.Add(FormattableString.Invariant($"limit={l}"));
        }

        if (beforeSeq is { } b)
        {
            query.Add(FormattableString.Invariant($"before={b}"));
        }

        if (afterSeq is { } a)
        {
            query.Add(FormattableString.Invariant($"after={a}"));
        }

        var path = ChitChatRoutes.Messages(NormalizeRoom(room)) + (query.Count > 0 ? "?" + string.Join('&', query) : string.Empty);
        return await SendHttpAsync<List<MessageDto>>(HttpMethod.Get, path, null, authenticated: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the limits the server enforces (anonymous); the client also keeps them to report hub retry delays.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The limits.</returns>
    public async Task<ServerLimits> GetLimitsAsync(CancellationToken cancellationToken = default)
    {
        var limits = await SendHttpAsync<ServerLimits>(HttpMethod.Get, ChitChatRoutes.Limits, null, authenticated: false, cancellationToken).ConfigureAwait(false);
        _limits = limits;
        return limits;
    }

    /// <summary>Stops the connection, fails pending sends and leaves every room (locally). Safe to call twice.</summary>
    /// <returns>A task that completes when everything stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        var hub = _hub;
        if (hub is not null)
        {
            try
            {
                await hub.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogStopFailed(ex.Message);
            }
        }

        foreach (var subscription in _rooms.Values)
        {
            subscription.Close(null);
        }

        _rooms.Clear();
        FailOutbox(new ObjectDisposedException(nameof(ChitChatClient), "The client was disposed before the message was acknowledged."));
        _outboxSignal.Writer.TryComplete();
        SetState(ChitChatConnectionState.Disconnected, null);
        _events.Writer.TryComplete();
        foreach (var loop in new[] { _outboxLoop, _eventLoop, _retryLoop ?? Task.CompletedTask })
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _http.Dispose();
        // _stopping is not disposed: late SignalR callbacks may still read it.
    }

    internal static string NormalizeRoom(string room)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(room);
        return room.Trim().ToLowerInvariant();
    }

    internal ILogger CreateLogger<T>() => _loggerFactory.CreateLogger<T>();

    /// <summary>Runs an event handler on the event loop (in order, never on SignalR's thread).</summary>
    internal void Raise(Action raise) => _events.Writer.TryWrite(raise);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private async Task RunEventLoopAsync()
    {
        await foreach (var raise in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                raise();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogHandlerFailed(ex);
            }
        }
    }

    /// <summary>Returns the token for a request or a connection attempt; <paramref name="refresh"/> asks for a new one.</summary>
    private async Task<string?> GetTokenAsync(bool refresh, CancellationToken cancellationToken)
    {
        if (_options.AccessTokenProvider is { } provider)
        {
            if (!refresh && _token is { } cached)
            {
                return cached;
            }

            LogTokenRequested(refresh);
            var token = await provider(cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrEmpty(token))
            {
                throw new InvalidOperationException("ChitChatClientOptions.AccessTokenProvider returned an empty token.");
            }

            _token = token;
            return token;
        }

        if (_credentials is null)
        {
            return _token;
        }

        await _tokenGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if ((refresh || _tokenRefused || _token is null || _time.GetUtcNow() >= _tokenRefreshAt) && _credentials is { } credentials)
            {
                LogTokenRequested(refresh || _tokenRefused);
                await LoginCoreAsync(credentials.UserName, credentials.Password, cancellationToken).ConfigureAwait(false);
            }

            return _token;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    private bool CanRefreshToken => _options.AccessTokenProvider is not null || _credentials is not null;

    /// <summary>Logs in (under the token gate).</summary>
    private async Task<LoginResponse> LoginCoreAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var login = await SendHttpAsync<LoginResponse>(HttpMethod.Post, ChitChatRoutes.Login, new LoginBody(userName, password), authenticated: false, cancellationToken).ConfigureAwait(false);
        var expires = new DateTimeOffset(DateTime.SpecifyKind(login.ExpiresAt, DateTimeKind.Utc));
        var lifetime = expires - now;
        var margin = TimeSpan.FromTicks(Math.Clamp(lifetime.Ticks / 10, 0, TimeSpan.FromMinutes(1).Ticks));
        _token = login.AccessToken;
        _tokenRefreshAt = expires - margin;
        _tokenRefused = false;
        User = login.User;
        LogLoggedIn(login.User.UserName);
        return login;
    }

    private Task<T> SendHttpAsync<T>(HttpMethod method, string path, object? body, bool authenticated, CancellationToken cancellationToken) =>
        SendHttpCoreAsync<T>(method, path, body, authenticated, readBody: true, cancellationToken);

    /// <summary>Sends an authenticated request whose success answer has no body (204).</summary>
    private Task SendHttpNoContentAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken) =>
        SendHttpCoreAsync<object?>(method, path, body, authenticated: true, readBody: false, cancellationToken);

    private async Task<T> SendHttpCoreAsync<T>(HttpMethod method, string path, object? body, bool authenticated, bool readBody, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var uri = new Uri(_server, path.TrimStart('/'));
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, body.GetType(), options: Json);
            }

            if (authenticated)
            {
                var token = await GetTokenAsync(refresh: attempt > 0, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("Not logged in: call LoginAsync, or set ChitChatClientOptions.AccessTokenProvider or UserName and Password.");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized && authenticated && attempt == 0 && CanRefreshToken)
            {
                LogTokenRefused(path);
                continue; // the token expired: get a new one and repeat once
            }

            if (response.IsSuccessStatusCode)
            {
                if (!readBody)
                {
                    return default!;
                }

                return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
                    ?? throw new ChitChatException("invalid_response", "The server sent an empty answer.", response.StatusCode);
            }

            throw await ReadProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ChitChatException> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ChatProblem? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync<ChatProblem>(Json, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            // not a problem document (e.g. a proxy's error page)
        }

        var status = response.StatusCode;
        var code = problem?.Code ?? status switch
        {
            HttpStatusCode.Unauthorized => ChatErrorCodes.Unauthorized,
            HttpStatusCode.Forbidden => ChatErrorCodes.Forbidden,
            HttpStatusCode.RequestEntityTooLarge => ChatErrorCodes.PayloadTooLarge,
            HttpStatusCode.TooManyRequests => ChatErrorCodes.RateLimited,
            HttpStatusCode.ServiceUnavailable => ChatErrorCodes.Unavailable,
            _ => FormattableString.Invariant($"http_{(int)status}"),
        };
        TimeSpan? retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - _time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero,
            _ => null,
        };
        var message = problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? "The request failed.";
        return new ChitChatException(code, message, status, retryAfter, problem?.Errors);
    }

    /// <summary>Converts a hub error; for <c>rate_limited</c> adds the send rate window as the retry delay (the hub does not send one).</summary>
    private async Task<ChitChatException> ToChitChatAsync(Microsoft.AspNetCore.SignalR.HubException exception)
    {
        TimeSpan? retryAfter = null;
        if (HubErrors.Split(exception.Message).Code == ChatErrorCodes.RateLimited)
        {
            var limits = _limits;
            if (limits is null)
            {
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                    timeout.CancelAfter(TimeSpan.FromSeconds(5));
                    limits = await GetLimitsAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogLimitsUnavailable(ex.Message);
                }
            }

            retryAfter = limits is { SendRateWindowMs: > 0 } ? TimeSpan.FromMilliseconds(limits.SendRateWindowMs) : null;
        }

        return HubErrors.Parse(exception, retryAfter);
    }

    /// <summary>An HTTP handler that forwards to the application's handler without taking ownership of it.</summary>
    private sealed class ForwardingHandler(HttpMessageHandler inner) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _invoker = new(inner, disposeHandler: false);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _invoker.SendAsync(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _invoker.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
