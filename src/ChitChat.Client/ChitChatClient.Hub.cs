using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using ChitChat.Client.Internal;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.Client;

public sealed partial class ChitChatClient
{
    private readonly Lock _stateLock = new();
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private HubConnection? _hub;
    private ChitChatConnectionState _state;
    private CancellationTokenSource? _retryStop;
    private Task? _retryLoop;

    /// <summary>Raised when <see cref="State"/> changes; <see cref="ConnectionStateChangedEventArgs.IsReconnect"/> marks "reconnected and caught up".</summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Gets the connection state.</summary>
    public ChitChatConnectionState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <summary>
    /// Opens the hub connection. The token comes from the options' <see cref="ChitChatClientOptions.AccessTokenProvider"/>,
    /// their credentials (logged in here when needed) or <see cref="LoginAsync"/>; a token the server refuses (401) is
    /// refreshed once. Rooms joined before a <see cref="DisconnectAsync"/> are re-joined after their last seq. From now on
    /// the client reconnects by itself until <see cref="DisconnectAsync"/> or <see cref="DisposeAsync"/>.
    /// </summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when connected.</returns>
    /// <exception cref="ChitChatException"><c>unauthorized</c> when the server refuses the token twice.</exception>
    /// <exception cref="HttpRequestException">The server cannot be reached.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var hub = _hub ??= BuildHub();
            if (hub.State != HubConnectionState.Disconnected)
            {
                return;
            }

            await StopRetryLoopAsync().ConfigureAwait(false);
            SetState(ChitChatConnectionState.Connecting, null);
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await hub.StartAsync(cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (Exception ex) when (IsUnauthorized(ex) && attempt == 0 && CanRefreshToken)
                {
                    LogTokenRefused("negotiate");
                    _tokenRefused = true;
                }
                catch (Exception ex)
                {
                    SetState(ChitChatConnectionState.Disconnected, ex);
                    if (IsUnauthorized(ex))
                    {
                        throw new ChitChatException(ChatErrorCodes.Unauthorized, "The server refused the access token.", HttpStatusCode.Unauthorized, innerException: ex);
                    }

                    throw;
                }
            }

            _tokenRefused = false;
            LogConnected();
            SignalOutbox();
            await RejoinAllAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>Closes the hub connection and stops reconnecting. Joined rooms and pending sends stay and resume at the next <see cref="ConnectAsync"/>.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when closed.</returns>
    public async Task DisconnectAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopRetryLoopAsync().ConfigureAwait(false);
            if (_hub is { } hub)
            {
                SetState(ChitChatConnectionState.Disconnected, null); // before Closed fires, so it is not taken for a drop
                await hub.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>
    /// Joins a room and returns its subscription, which delivers every later event exactly once and in seq order, also
    /// across reconnects (it re-joins with its last seq). With <paramref name="afterSeq"/> it starts right after that seq
    /// (paging the catch-up as needed; 0 for the whole history); without it, with the server's recent messages
    /// (<see cref="ServerLimits.RecentMessagesOnJoin"/>). If the connection drops during the join, the task completes after
    /// the reconnect.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last seq the application already has, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The subscription.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>too_many_rooms</c>.</exception>
    /// <exception cref="InvalidOperationException">Not connected yet (call <see cref="ConnectAsync"/>), or the room is already joined.</exception>
    public async Task<RoomSubscription> JoinRoomAsync(string room, long? afterSeq = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var name = NormalizeRoom(room);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSeq ?? 0, nameof(afterSeq));
        if (_hub is null)
        {
            throw new InvalidOperationException("Connect first (ConnectAsync).");
        }

        var subscription = new RoomSubscription(this, name, afterSeq, new RoomHub(this), _options.HistoryPageSize, _options.BufferRoomEvents);
        if (!_rooms.TryAdd(name, subscription))
        {
            throw new InvalidOperationException($"Room '{name}' is already joined; use its subscription or leave it first.");
        }

        try
        {
            try
            {
                await subscription.Synchronizer.JoinAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                LogJoinDeferred(name, ex.Message);
                await subscription.Synchronizer.Joined.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return subscription;
        }
        catch
        {
            _rooms.TryRemove(new KeyValuePair<string, RoomSubscription>(name, subscription));
            subscription.Close(null);
            throw;
        }
    }

    /// <summary>Lists the users online in a room, across all nodes.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users, ordered by name.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>.</exception>
    public Task<IReadOnlyList<PresenceUser>> GetPresenceAsync(string room, CancellationToken cancellationToken = default) =>
        InvokeAsync<IReadOnlyList<PresenceUser>>(HubMethods.GetPresence, [NormalizeRoom(room)], cancellationToken);

    /// <summary>Tells a room that the user is typing. Ephemeral: while not connected it does nothing.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when sent.</returns>
    public async Task TypingAsync(string room, CancellationToken cancellationToken = default)
    {
        var name = NormalizeRoom(room);
        if (_hub is { State: HubConnectionState.Connected } hub)
        {
            try
            {
                await hub.SendAsync(HubMethods.Typing, name, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                LogTypingDropped(ex.Message);
            }
        }
    }

    internal async Task LeaveAsync(RoomSubscription subscription, CancellationToken cancellationToken)
    {
        if (!_rooms.TryRemove(new KeyValuePair<string, RoomSubscription>(subscription.Room, subscription)))
        {
            return;
        }

        subscription.Close(null);
        if (_hub is { State: HubConnectionState.Connected } hub)
        {
            try
            {
                await hub.InvokeAsync(HubMethods.LeaveRoom, subscription.Room, cancellationToken).ConfigureAwait(false);
            }
            catch (HubException ex)
            {
                throw await ToChitChatAsync(ex).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                LogLeaveDropped(subscription.Room, ex.Message); // the server forgets the connection's rooms when it closes
            }
        }
    }

    internal async Task<T> InvokeAsync<T>(string method, object?[] args, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var hub = _hub ?? throw new InvalidOperationException("Connect first (ConnectAsync).");
        try
        {
            return await hub.InvokeCoreAsync<T>(method, args, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw await ToChitChatAsync(ex).ConfigureAwait(false);
        }
    }

    /// <summary>True for a failure of the connection (not an answer of the server, not the caller's cancellation).</summary>
    internal static bool IsConnectionFailure(Exception exception, CancellationToken cancellationToken = default) =>
        exception is not HubException and not ChitChatException
        && !cancellationToken.IsCancellationRequested
        && exception is IOException or InvalidOperationException or OperationCanceledException or WebSocketException or HttpRequestException or ObjectDisposedException;

    private static bool IsUnauthorized(Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: HttpStatusCode.Unauthorized } => true,
        WebSocketException ws => ws.Message.Contains("'401'", StringComparison.Ordinal), // the upgrade was refused
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnauthorized),
        _ => exception.InnerException is { } inner && IsUnauthorized(inner),
    };

    private HubConnection BuildHub()
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(_server, ChitChatRoutes.Hub.TrimStart('/')), o =>
            {
                o.AccessTokenProvider = HubTokenAsync;
                if (_options.HttpMessageHandler is { } handler)
                {
                    o.HttpMessageHandlerFactory = _ => new ForwardingHandler(handler);
                }

                _options.ConfigureHttpConnection?.Invoke(o);
            })
            .WithAutomaticReconnect([.. _options.ReconnectDelays])
            .AddJsonProtocol(o => o.PayloadSerializerOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web));
        builder.Services.AddSingleton(_loggerFactory);
        _options.ConfigureHubConnection?.Invoke(builder);
        var hub = builder.Build();
        hub.On<MessageDto>(HubEvents.Message, OnMessage);
        hub.On<MessageUpdatedEvent>(HubEvents.MessageUpdated, OnMessageUpdated);
        hub.On<ReadEvent>(HubEvents.Read, r => Raise(() => ReadReceived?.Invoke(this, r)));
        hub.On<MentionEvent>(HubEvents.Mention, m => Raise(() => MentionReceived?.Invoke(this, m)));
        hub.On<PresenceEvent>(HubEvents.Presence, p => Raise(() => PresenceChanged?.Invoke(this, p)));
        hub.On<TypingEvent>(HubEvents.Typing, t => Raise(() => TypingReceived?.Invoke(this, t)));
        hub.On<MemberEvent>(HubEvents.Member, m => Raise(() => MemberChanged?.Invoke(this, m)));
        hub.On<RemovedEvent>(HubEvents.Removed, OnRemoved);
        hub.Reconnecting += error =>
        {
            LogReconnecting(error?.Message);
            ResetOutboxAttempts();
            SetState(ChitChatConnectionState.Reconnecting, error);
            return Task.CompletedTask;
        };
        hub.Reconnected += connectionId =>
        {
            LogReconnected();
            _ = Task.Run(() => AfterReconnectAsync());
            return Task.CompletedTask;
        };
        hub.Closed += error =>
        {
            if (_stopping.IsCancellationRequested || State == ChitChatConnectionState.Disconnected)
            {
                return Task.CompletedTask; // DisconnectAsync or DisposeAsync
            }

            // SignalR's automatic reconnect gave up (or the connection closed without it): keep trying ourselves.
            LogRetrying(error?.Message);
            ResetOutboxAttempts();
            SetState(ChitChatConnectionState.Retrying, error);
            StartRetryLoop();
            return Task.CompletedTask;
        };
        return hub;
    }

    /// <summary>SignalR asks for the token at every connect and reconnect attempt (negotiate and the WebSocket upgrade).</summary>
    private async Task<string?> HubTokenAsync()
    {
        // A provider is asked every time (it decides about caching); the options' credentials log in again when refused or expiring.
        var refresh = _options.AccessTokenProvider is not null || _tokenRefused;
        return await GetTokenAsync(refresh, _stopping.Token).ConfigureAwait(false);
    }

    private void OnMessage(MessageDto message)
    {
        if (message?.Room is { } room && _rooms.TryGetValue(room, out var subscription))
        {
            subscription.Synchronizer.OnLive(message);
        }
    }

    private void OnMessageUpdated(MessageUpdatedEvent update)
    {
        if (update?.Room is { } room && update.Message is not null && _rooms.TryGetValue(room, out var subscription))
        {
            subscription.Synchronizer.OnLive(update);
        }
    }

    /// <summary>The server took this user out of the room: the subscription ends and is not re-joined.</summary>
    private void OnRemoved(RemovedEvent removed)
    {
        if (removed?.Room is { } room && _rooms.TryRemove(room, out var subscription))
        {
            LogRemoved(room, removed.Reason);
            subscription.CloseRemoved(removed);
        }
    }

    private async Task AfterReconnectAsync()
    {
        _tokenRefused = false;
        SignalOutbox();
        await RejoinAllAsync(_stopping.Token).ConfigureAwait(false);
    }

    /// <summary>Re-joins every room after its last delivered seq, then reports Connected (caught up).</summary>
    private async Task RejoinAllAsync(CancellationToken cancellationToken)
    {
        foreach (var subscription in _rooms.Values)
        {
            if (subscription.Removed is not null)
            {
                continue; // removed by the server while the others were re-joined
            }

            try
            {
                await subscription.Synchronizer.JoinAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChitChatException ex)
            {
                LogRejoinRefused(subscription.Room, ex.Code);
                _rooms.TryRemove(new KeyValuePair<string, RoomSubscription>(subscription.Room, subscription));
                subscription.Close(ex);
            }
            catch (Exception ex) when (IsConnectionFailure(ex))
            {
                LogRejoinInterrupted(subscription.Room, ex.Message);
                return; // dropped again: the next reconnect re-joins
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }

        if (_hub is { State: HubConnectionState.Connected })
        {
            SetState(ChitChatConnectionState.Connected, null);
        }
    }

    private void StartRetryLoop()
    {
        lock (_stateLock)
        {
            if (_retryLoop is { IsCompleted: false })
            {
                return;
            }

            _retryStop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            var stop = _retryStop.Token;
            _retryLoop = Task.Run(() => RetryLoopAsync(stop));
        }
    }

    private async Task StopRetryLoopAsync()
    {
        Task? loop;
        lock (_stateLock)
        {
            _retryStop?.Cancel();
            loop = _retryLoop;
        }

        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task RetryLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(_options.RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            var hub = _hub;
            if (hub is null || State != ChitChatConnectionState.Retrying)
            {
                return;
            }

            try
            {
                if (hub.State == HubConnectionState.Disconnected)
                {
                    await hub.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                LogReconnected();
                await AfterReconnectAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (IsUnauthorized(ex))
                {
                    _tokenRefused = true; // the token expired while offline: the next attempt gets a new one
                }

                LogRetryFailed(ex.Message);
            }
        }
    }

    private void SetState(ChitChatConnectionState state, Exception? error)
    {
        ConnectionStateChangedEventArgs args;
        lock (_stateLock)
        {
            if (_state == state)
            {
                return;
            }

            args = new ConnectionStateChangedEventArgs(_state, state, error);
            _state = state;
        }

        Raise(() => StateChanged?.Invoke(this, args));
    }

    /// <summary>The synchronizers' view of the hub.</summary>
    private sealed class RoomHub(ChitChatClient client) : IRoomHub
    {
        public Task<JoinRoomResult> JoinRoomAsync(string room, long? afterSeq, CancellationToken cancellationToken) =>
            client.InvokeAsync<JoinRoomResult>(HubMethods.JoinRoom, [room, afterSeq], cancellationToken);

        public Task<IReadOnlyList<RoomEventDto>> GetEventsAsync(string room, long afterSeq, int? limit, CancellationToken cancellationToken) =>
            client.InvokeAsync<IReadOnlyList<RoomEventDto>>(HubMethods.GetEvents, [room, afterSeq, limit], cancellationToken);
    }
}
