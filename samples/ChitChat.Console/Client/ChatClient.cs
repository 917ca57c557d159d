using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Cli.Client;

/// <summary>The connection state reported by <see cref="ChatClient.ConnectionChanged"/>.</summary>
public enum ConnectionState
{
    /// <summary>Connected and joined.</summary>
    Connected,
    /// <summary>The connection dropped; reconnecting.</summary>
    Reconnecting,
    /// <summary>Reconnected and caught up.</summary>
    Reconnected,
    /// <summary>SignalR's automatic reconnect gave up; the client keeps retrying on its own.</summary>
    Retrying,
}

/// <summary>
/// The ChitChat protocol client (HTTP API plus the <c>/hubs/chat</c> hub), with no UI. It delivers each room's messages
/// exactly once and in <c>seq</c> order through <see cref="MessageReceived"/>: it keeps the last seq per joined room,
/// drops anything at or below it, fills gaps from <c>GetHistory(afterSeq)</c>, and after a reconnect (SignalR's automatic
/// reconnect, then its own retry loop once that gives up) re-joins every room with <c>JoinRoom(room, lastSeq)</c>.
/// All room state changes run on one work loop; hub event handlers only enqueue, so they never block SignalR's receive loop.
/// </summary>
public sealed partial class ChatClient : IAsyncDisposable
{
    private readonly ChatClientOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, long> _lastSeq = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private HubConnection? _hub;
    private Task? _workLoop;
    private Task? _retryLoop;
    private string? _token;
    private (string UserName, string Password)? _credentials;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Initializes a new instance.</summary>
    /// <param name="options">The options.</param>
    /// <param name="http">The HTTP client (its base address is set from <see cref="ChatClientOptions.Server"/>).</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public ChatClient(ChatClientOptions options, HttpClient? http = null, TimeProvider? time = null, ILogger<ChatClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Server.AbsolutePath.EndsWith('/'))
        {
            options.Server = new Uri(options.Server.AbsoluteUri + "/"); // keep a path base (http://host/chat/) when resolving api/... and hubs/chat
        }

        _options = options;
        _http = http ?? new HttpClient();
        _http.BaseAddress ??= options.Server;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Raised once per message, in seq order per room, never twice.</summary>
    public event Action<ChatMessageDto>? MessageReceived;

    /// <summary>Raised when a user comes online in or leaves a joined room.</summary>
    public event Action<PresenceDto>? PresenceChanged;

    /// <summary>Raised when a user types in a joined room.</summary>
    public event Action<TypingDto>? TypingReceived;

    /// <summary>Raised when the connection drops and when it is back and caught up.</summary>
    public event Action<ConnectionState, string?>? ConnectionChanged;

    /// <summary>Gets the logged-in user, or <see langword="null"/>.</summary>
    public UserDto? User { get; private set; }

    /// <summary>Gets the rooms joined, with the last seq delivered in each.</summary>
    public IReadOnlyDictionary<string, long> LastSeq => _lastSeq;

    /// <summary>Registers an account.</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The new user.</returns>
    public async Task<UserDto> RegisterAsync(string userName, string password, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync("api/auth/register", new { userName, password }, Wire.Options, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<UserDto>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs in and keeps the token (and the credentials, to log in again if the token expires while reconnecting).</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user.</returns>
    public async Task<UserDto> LoginAsync(string userName, string password, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync("api/auth/login", new { userName, password }, Wire.Options, cancellationToken).ConfigureAwait(false);
        var login = await ReadAsync<LoginResponseDto>(response, cancellationToken).ConfigureAwait(false);
        _token = login.AccessToken;
        _credentials = (userName, password);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.AccessToken);
        User = login.User;
        return login.User;
    }

    /// <summary>Lists the rooms.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms.</returns>
    public async Task<IReadOnlyList<RoomDto>> GetRoomsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("api/rooms", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<RoomDto>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a room.</summary>
    /// <param name="name">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    public async Task<RoomDto> CreateRoomAsync(string name, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync("api/rooms", new { name }, Wire.Options, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<RoomDto>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens the hub connection (after <see cref="LoginAsync"/>).</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when connected.</returns>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_token is null)
        {
            throw new InvalidOperationException("Log in first.");
        }

        var delays = _options.ReconnectDelays.ToArray();
        _hub = new HubConnectionBuilder()
            .WithUrl(new Uri(_options.Server, "hubs/chat"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(_token))
            .WithAutomaticReconnect(delays)
            .AddJsonProtocol(o => o.PayloadSerializerOptions = Wire.Options)
            .Build();
        _hub.On<ChatMessageDto>("message", m => Enqueue(() => OnLiveMessageAsync(m)));
        _hub.On<PresenceDto>("presence", p => Enqueue(() => Raise(PresenceChanged, p)));
        _hub.On<TypingDto>("typing", t => Enqueue(() => Raise(TypingReceived, t)));
        _hub.Reconnecting += ex =>
        {
            if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            ConnectionChanged?.Invoke(ConnectionState.Reconnecting, ex?.Message);
            return Task.CompletedTask;
        };
        _hub.Reconnected += _ =>
        {
            Enqueue(ResyncAsync);
            return Task.CompletedTask;
        };
        _hub.Closed += ex =>
        {
            if (!_stopping.IsCancellationRequested)
            {
                // SignalR's automatic reconnect gave up (or the first attempt failed): keep trying ourselves.
                if (_connected.Task.IsCompleted)
                {
                    _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                ConnectionChanged?.Invoke(ConnectionState.Retrying, ex?.Message);
                _retryLoop = RetryConnectAsync();
            }

            return Task.CompletedTask;
        };

        _workLoop ??= RunWorkLoopAsync();
        await _hub.StartAsync(cancellationToken).ConfigureAwait(false);
        _connected.TrySetResult();
        ConnectionChanged?.Invoke(ConnectionState.Connected, null);
    }

    /// <summary>
    /// Joins a room: delivers up to <paramref name="recent"/> recent messages, then everything after them, then live messages.
    /// Joining a room already joined does nothing.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="recent">How many recent messages to deliver first (0 for none).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when joined.</returns>
    public Task JoinRoomAsync(string room, int recent, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        room = room.ToLowerInvariant();
        return RunOnLoopAsync(async () =>
        {
            if (_lastSeq.ContainsKey(room))
            {
                return;
            }

            var hub = RequireHub();
            var history = await hub.InvokeAsync<List<ChatMessageDto>>("GetHistory", room, null, null, Math.Max(1, recent), cancellationToken).ConfigureAwait(false);
            var baseline = history.Count > 0 ? history[^1].Seq : 0;
            var deliver = recent > 0 ? history : [];
            _lastSeq[room] = deliver.Count > 0 ? deliver[0].Seq - 1 : baseline;
            foreach (var message in deliver)
            {
                Deliver(message);
            }

            await CatchUpAsync(room, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Leaves a room; its messages are no longer delivered.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when left.</returns>
    public Task LeaveRoomAsync(string room, CancellationToken cancellationToken = default)
    {
        room = room.ToLowerInvariant();
        return RunOnLoopAsync(async () =>
        {
            if (_lastSeq.TryRemove(room, out _))
            {
                await RequireHub().InvokeAsync("LeaveRoom", room, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Sends a message and waits for the server's ack. While disconnected it waits for the reconnect and retries with the
    /// same <c>clientMessageId</c>, so a retry never creates a second message.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The ack.</returns>
    /// <exception cref="ChatClientException">The server refused the message (e.g. <c>validation_failed</c>).</exception>
    public async Task<SendAckDto> SendAsync(string room, string text, CancellationToken cancellationToken = default)
    {
        var clientMessageId = "c-" + Guid.CreateVersion7().ToString("N");
        var rateLimitRetries = 0;
        while (true)
        {
            await _connected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await RequireHub().InvokeAsync<SendAckDto>("SendMessage", room.ToLowerInvariant(), text, clientMessageId, cancellationToken).ConfigureAwait(false);
            }
            catch (HubException ex)
            {
                var error = ChatClientException.FromHub(ex.Message, ex);
                if (error.Code is "rate_limited" or "unavailable" && rateLimitRetries++ < 10)
                {
                    LogRetrying(error.Code);
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw error;
            }
            catch (Exception ex) when (IsConnectionFailure(ex) && !cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                // The connection dropped mid-call: wait for the reconnect and retry with the same key.
                LogSendRetry(ex.Message);
                if (_hub?.State == HubConnectionState.Connected)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Reads a page of history (the latest <paramref name="limit"/> messages, oldest first).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="limit">The page size.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The messages.</returns>
    public Task<List<ChatMessageDto>> GetHistoryAsync(string room, int limit, CancellationToken cancellationToken = default) =>
        InvokeAsync<List<ChatMessageDto>>("GetHistory", [room.ToLowerInvariant(), null, null, limit], cancellationToken);

    /// <summary>Lists who is online in a room.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users.</returns>
    public Task<List<OnlineUserDto>> GetPresenceAsync(string room, CancellationToken cancellationToken = default) =>
        InvokeAsync<List<OnlineUserDto>>("GetPresence", [room.ToLowerInvariant()], cancellationToken);

    /// <summary>Tells the room this user is typing.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when sent.</returns>
    public async Task TypingAsync(string room, CancellationToken cancellationToken = default)
    {
        if (_hub?.State == HubConnectionState.Connected)
        {
            await _hub.SendAsync("Typing", room.ToLowerInvariant(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _work.Writer.TryComplete();
        if (_hub is not null)
        {
            await _hub.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var task in new[] { _workLoop, _retryLoop })
        {
            if (task is not null)
            {
                try
                {
                    await task.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        // _stopping is not disposed: late hub callbacks (Closed after DisposeAsync) may still read it.
        _http.Dispose();
    }

    private async Task<T> InvokeAsync<T>(string method, object?[] args, CancellationToken cancellationToken)
    {
        try
        {
            return await RequireHub().InvokeCoreAsync<T>(method, args, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw ChatClientException.FromHub(ex.Message, ex);
        }
    }

    private HubConnection RequireHub() => _hub ?? throw new InvalidOperationException("Connect first.");

    private static bool IsConnectionFailure(Exception ex) =>
        ex is InvalidOperationException or IOException or TaskCanceledException or System.Net.WebSockets.WebSocketException or HttpRequestException;

    private void Enqueue(Func<Task> work) => _work.Writer.TryWrite(work);

    private static Task Raise<T>(Action<T>? handler, T value)
    {
        handler?.Invoke(value);
        return Task.CompletedTask;
    }

    private async Task RunOnLoopAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
                done.TrySetResult();
            }
            catch (HubException ex)
            {
                done.TrySetException(ChatClientException.FromHub(ex.Message, ex));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        });
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunWorkLoopAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                // A failed step (usually the connection dropping mid-way) is repaired by the next resync.
                LogWorkFailed(ex.Message);
            }
        }
    }

    private async Task OnLiveMessageAsync(ChatMessageDto message)
    {
        if (!_lastSeq.TryGetValue(message.Room, out var last) || message.Seq <= last)
        {
            return; // not joined, or already delivered
        }

        if (message.Seq > last + 1)
        {
            // A gap (e.g. the transport dropped something): fill it from history before delivering this one.
            LogGap(message.Room, last, message.Seq);
            await FillAsync(message.Room, message.Seq - 1, _stopping.Token).ConfigureAwait(false);
            if (_lastSeq.TryGetValue(message.Room, out last) && last < message.Seq - 1)
            {
                return; // history is not there yet; the next message or resync fills it
            }
        }

        Deliver(message);
    }

    private void Deliver(ChatMessageDto message)
    {
        if (!_lastSeq.TryGetValue(message.Room, out var last) || message.Seq <= last)
        {
            return;
        }

        _lastSeq[message.Room] = message.Seq;
        MessageReceived?.Invoke(message);
    }

    private async Task CatchUpAsync(string room, CancellationToken cancellationToken)
    {
        var hub = RequireHub();
        var join = await hub.InvokeAsync<JoinResultDto>("JoinRoom", room, _lastSeq[room], cancellationToken).ConfigureAwait(false);
        foreach (var message in join.Missed)
        {
            Deliver(message);
        }

        if (join.HasMore)
        {
            await FillAsync(room, join.LastSeq, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Delivers history pages after the room's last seq until <paramref name="upTo"/> is reached or the history ends.</summary>
    private async Task FillAsync(string room, long upTo, CancellationToken cancellationToken)
    {
        while (_lastSeq.TryGetValue(room, out var last) && last < upTo)
        {
            var page = await RequireHub().InvokeAsync<List<ChatMessageDto>>("GetHistory", room, null, last, _options.PageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return;
            }

            foreach (var message in page)
            {
                Deliver(message);
            }
        }
    }

    private async Task ResyncAsync()
    {
        foreach (var room in _lastSeq.Keys.ToList())
        {
            await CatchUpAsync(room, _stopping.Token).ConfigureAwait(false);
        }

        _connected.TrySetResult();
        ConnectionChanged?.Invoke(ConnectionState.Reconnected, null);
    }

    private async Task RetryConnectAsync()
    {
        await _connectGate.WaitAsync(_stopping.Token).ConfigureAwait(false);
        try
        {
            while (!_stopping.IsCancellationRequested && _hub is { State: HubConnectionState.Disconnected } hub)
            {
                await Task.Delay(_options.RetryDelay, _time, _stopping.Token).ConfigureAwait(false);
                try
                {
                    await hub.StartAsync(_stopping.Token).ConfigureAwait(false);
                    Enqueue(ResyncAsync);
                    return;
                }
                catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Unauthorized && _credentials is { } credentials)
                {
                    // The token expired while we were away: log in again.
                    LogRetryFailed(ex.Message);
                    try
                    {
                        await LoginAsync(credentials.UserName, credentials.Password, _stopping.Token).ConfigureAwait(false);
                    }
                    catch (Exception loginError) when (loginError is not OperationCanceledException)
                    {
                        LogRetryFailed(loginError.Message);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRetryFailed(ex.Message);
                }
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return await response.Content.ReadFromJsonAsync<T>(Wire.Options, cancellationToken).ConfigureAwait(false)
                ?? throw new ChatClientException("invalid_response", "The server sent an empty answer.");
        }

        ProblemDto? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync<ProblemDto>(Wire.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException)
        {
        }
        catch (NotSupportedException)
        {
        }

        var code = problem?.Code ?? $"http_{(int)response.StatusCode}";
        var message = problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? "The request failed.";
        if (problem?.Errors is { Count: > 0 } errors)
        {
            message += " (" + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")) + ")";
        }

        throw new ChatClientException(code, message);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Gap in {Room} after {Last} (received {Seq}); filling from history.")]
    private partial void LogGap(string room, long last, long seq);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "A send failed ({Reason}); retrying after the reconnect.")]
    private partial void LogSendRetry(string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Reconnect attempt failed: {Reason}.")]
    private partial void LogRetryFailed(string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "A room update failed ({Reason}); the next resync repairs it.")]
    private partial void LogWorkFailed(string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "The server answered {Code}; retrying.")]
    private partial void LogRetrying(string code);
}
