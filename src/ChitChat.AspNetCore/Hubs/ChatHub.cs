using ChitChat.Contracts;
using ChitChat.AspNetCore.Authentication;
using ChitChat.AspNetCore.Authorization;
using ChitChat.AspNetCore.Delivery;
using ChitChat.AspNetCore.Http;
using ChitChat.Delivery;
using ChitChat.History;
using ChitChat.Membership;
using ChitChat.Messaging;
using ChitChat.Presence;
using ChitChat.ReadState;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Hubs;

/// <summary>
/// The ChitChat hub at <c>/hubs/chat</c>. Every method acts as the authenticated user (claims of the bearer token);
/// nothing in a payload can change who the author is. Errors are <see cref="HubException"/>s whose message starts with
/// the error code and a colon (see <see cref="ChatHubFilter"/>); the connection stays open.
/// </summary>
[Authorize(Policy = ChitChatAuthenticationDefaults.AuthorizationPolicy)]
public sealed class ChatHub : Hub
{
    private const string ConnectionKey = "ChitChat.Connection";
    private const string TurnsKey = "ChitChat.Turns";

    private readonly MembershipService _membership;
    private readonly IAuthorizationService _authorization;
    private readonly MessageSender _sender;
    private readonly HistoryService _history;
    private readonly PresenceService _presence;
    private readonly MessageOperations _operations;
    private readonly ReadStateService _readState;
    private readonly ILogger<ChatHub> _logger;
    private readonly DeliveryEngine _delivery;
    private readonly SignalRDeliverySink _sink;
    private readonly ChitChatHubOptions _options;

    /// <summary>Initializes a new instance. SignalR creates one per invocation.</summary>
    /// <param name="membership">The membership rules.</param>
    /// <param name="authorization">The authorization service (room operations, see <see cref="RoomOperationRequirement"/>).</param>
    /// <param name="sender">The message sender.</param>
    /// <param name="history">The history.</param>
    /// <param name="presence">The presence and typing service.</param>
    /// <param name="delivery">The delivery engine.</param>
    /// <param name="options">The options.</param>
    /// <param name="services">The request services (for the hub's internal delivery sink, the message operations and the read state).</param>
    public ChatHub(MembershipService membership, IAuthorizationService authorization, MessageSender sender, HistoryService history, PresenceService presence, DeliveryEngine delivery, IOptions<ChitChatAspNetCoreOptions> options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(authorization);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(presence);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(services);
        _membership = membership;
        _authorization = authorization;
        _sender = sender;
        _history = history;
        _presence = presence;
        _options = options.Value.Hub;
        _delivery = delivery;
        _sink = services.GetRequiredService<SignalRDeliverySink>();
        _operations = services.GetRequiredService<MessageOperations>();
        _readState = services.GetRequiredService<ReadStateService>();
        _logger = services.GetRequiredService<ILogger<ChatHub>>();
    }

    /// <inheritdoc />
    public override async Task OnConnectedAsync()
    {
        // Every connection receives its user's events (read, mention) from the start, whatever rooms it joins. Best effort:
        // a transport that cannot subscribe now (Redis down) must not refuse the connection; its rooms still work as
        // the transport allows, and the unread and mention counts of the room list stay right.
        try
        {
            await _delivery.ConnectAsync(Connection, Context.ConnectionAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            HubLog.UserChannelFailed(_logger, ex);
        }

        await base.OnConnectedAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Joins a room: returns the messages after <paramref name="afterSeq"/> up to the boundary <c>lastSeq</c> (capped; then
    /// <c>hasMore</c>), and from then on the connection receives live <c>message</c> events with <c>seq &gt; lastSeq</c>, with
    /// no gap and no duplicate. Without <paramref name="afterSeq"/> it returns the most recent messages instead. A live
    /// event may arrive before this result: buffer events by <c>seq</c>. The delivery engine does all of it. Joining a public
    /// room makes the caller a member; a private or direct room must count the caller as a member (else <c>room_not_found</c>).
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last sequence number the client has, or <see langword="null"/> for none.</param>
    /// <returns>The join result.</returns>
    public async Task<JoinRoomResult> JoinRoom(string room, long? afterSeq)
    {
        var roomName = RoomName.Parse(room);
        var aborted = Context.ConnectionAborted;
        var connection = Connection;

        // Joins and leaves of a connection take effect in the order the client made them (pipelined LeaveRoom, JoinRoom
        // ends joined): the turn is taken before the first await and passed on once the engine has the join.
        var (previous, turn) = Turns.Enter();
        RoomJoin join;
        try
        {
            await previous.ConfigureAwait(false);
            await AuthorizeAsync(roomName, RoomOperation.Join).ConfigureAwait(false);
            await _membership.JoinAsync(connection.User, roomName, aborted).ConfigureAwait(false);
            join = await _delivery.JoinAsync(connection, new RoomJoinRequest(roomName, afterSeq, _options.RecentMessagesOnJoin), aborted).ConfigureAwait(false);
        }
        finally
        {
            turn.TrySetResult();
        }

        return new JoinRoomResult(join.Room, join.LastSeq, join.Missed.Select(static m => m.ToDto()).ToArray(), join.HasMore)
        {
            Updates = join.Updates.Select(static e => e.ToUpdatedDto()).ToArray(),
        };
    }

    /// <summary>Leaves a room: no more events from it, and the user goes offline there when this was their last connection in it.</summary>
    /// <param name="room">The room name.</param>
    /// <returns>A task that completes when left.</returns>
    public async Task LeaveRoom(string room)
    {
        // Leaves first (nothing happens when not joined), then answers like every other method: an unknown room and a room
        // the caller may not see are both room_not_found.
        var roomName = RoomName.Parse(room);
        var (previous, turn) = Turns.Enter();
        try
        {
            await previous.ConfigureAwait(false);
            await _delivery.LeaveAsync(Connection, roomName, Context.ConnectionAborted).ConfigureAwait(false);
        }
        finally
        {
            turn.TrySetResult();
        }

        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
    }

    /// <summary>Sends a message as the authenticated user. A retry with the same <paramref name="clientMessageId"/> returns the same acknowledgement and stores nothing.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The idempotency key (recommended).</param>
    /// <returns>The acknowledgement.</returns>
    public async Task<SendMessageAck> SendMessage(string room, string text, string? clientMessageId)
    {
        // SignalR starts a connection's invocations in the order they arrived, and the sender takes the message's turn in the
        // connection's order before its first await: pipelined sends of one connection keep their order
        // (ChitChatHubOptions.MaximumParallelInvocationsPerClient).
        var roomName = RoomName.Parse(room);
        var request = new SendMessageRequest(roomName, text, clientMessageId) { Authorize = _ => AuthorizeAsync(roomName, RoomOperation.Send) };
        var connection = Connection;
        var result = await _sender.SendAsync(connection.User, request, connection, Context.ConnectionAborted).ConfigureAwait(false);
        return new SendMessageAck(result.Message.Id, result.Message.Seq, result.Message.SentAt.UtcDateTime);
    }

    /// <summary>Sends a reply to a message of the same room (<paramref name="replyTo"/>); it joins that message's thread.
    /// Otherwise the same as <see cref="SendMessage"/>: the same ack, the same retry guarantee.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="replyTo">The id of the message answered.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The idempotency key (recommended).</param>
    /// <returns>The acknowledgement.</returns>
    public async Task<SendMessageAck> Reply(string room, Guid replyTo, string text, string? clientMessageId)
    {
        var roomName = RoomName.Parse(room);
        var request = new SendMessageRequest(roomName, text, clientMessageId) { ReplyTo = replyTo, Authorize = _ => AuthorizeAsync(roomName, RoomOperation.Send) };
        var connection = Connection;
        var result = await _sender.SendAsync(connection.User, request, connection, Context.ConnectionAborted).ConfigureAwait(false);
        return new SendMessageAck(result.Message.Id, result.Message.Seq, result.Message.SentAt.UtcDateTime);
    }

    /// <summary>Edits a message's text (its author, within the edit window).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <param name="text">The new text.</param>
    /// <returns>The message in its current state.</returns>
    public async Task<MessageDto> EditMessage(string room, Guid id, string text)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Send).ConfigureAwait(false);
        var message = await _operations.EditAsync(Connection.User, roomName, id, text, Context.ConnectionAborted).ConfigureAwait(false);
        return message.ToDto();
    }

    /// <summary>Deletes a message (its author, an owner or a moderator).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <returns>A task that completes when deleted.</returns>
    public async Task DeleteMessage(string room, Guid id)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        await _operations.DeleteAsync(Connection.User, roomName, id, Context.ConnectionAborted).ConfigureAwait(false);
    }

    /// <summary>Adds the caller's reaction to a message (repeating it changes nothing).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <param name="emoji">The emoji.</param>
    /// <returns>A task that completes when stored.</returns>
    public async Task React(string room, Guid id, string emoji)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Send).ConfigureAwait(false);
        await _operations.ReactAsync(Connection.User, roomName, id, emoji, Context.ConnectionAborted).ConfigureAwait(false);
    }

    /// <summary>Removes the caller's reaction from a message.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <param name="emoji">The emoji.</param>
    /// <returns>A task that completes when stored.</returns>
    public async Task Unreact(string room, Guid id, string emoji)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        await _operations.UnreactAsync(Connection.User, roomName, id, emoji, Context.ConnectionAborted).ConfigureAwait(false);
    }

    /// <summary>Reads a thread: the replies of a root message, ascending by seq (on a reply: <c>validation_failed</c>).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The root message's id.</param>
    /// <param name="afterSeq">Only replies after this seq.</param>
    /// <param name="limit">The page size.</param>
    /// <returns>The replies.</returns>
    public async Task<IReadOnlyList<MessageDto>> GetReplies(string room, Guid id, long? afterSeq, int? limit)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        var page = await _history.GetRepliesAsync(roomName, id, afterSeq, limit, Context.ConnectionAborted).ConfigureAwait(false);
        return page.Select(static m => m.ToDto()).ToArray();
    }

    /// <summary>Reads a page of the room's event sequence after <paramref name="afterSeq"/>: new messages and updates, ascending
    /// (the page after a capped <see cref="JoinRoom"/>).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last seq the client has.</param>
    /// <param name="limit">The page size (default 100, at most 500).</param>
    /// <returns>The events.</returns>
    public async Task<IReadOnlyList<RoomEventDto>> GetEvents(string room, long afterSeq, int? limit)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        var page = await _history.GetEventsAsync(roomName, afterSeq, limit, Context.ConnectionAborted).ConfigureAwait(false);
        return page.Select(static e => e.ToDto()).ToArray();
    }

    /// <summary>Moves the caller's read marker forward (clamped to the room's last seq); the caller's other connections get a <c>read</c> event.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="seq">The last seq read.</param>
    /// <returns>A task that completes when stored.</returns>
    public async Task MarkRead(string room, long seq)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        await _readState.MarkReadAsync(Connection.User, roomName, seq, Context.ConnectionId, Context.ConnectionAborted).ConfigureAwait(false);
    }

    /// <summary>Reads a page of history, ascending by seq.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="beforeSeq">Only messages before this seq (the latest of them).</param>
    /// <param name="afterSeq">Only messages after this seq (the earliest of them).</param>
    /// <param name="limit">The page size.</param>
    /// <returns>The messages.</returns>
    public async Task<IReadOnlyList<MessageDto>> GetHistory(string room, long? beforeSeq, long? afterSeq, int? limit)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        var page = await _history.GetHistoryAsync(roomName, new HistoryQuery(beforeSeq, afterSeq, limit), Context.ConnectionAborted).ConfigureAwait(false);
        return page.Select(static m => m.ToDto()).ToArray();
    }

    /// <summary>Lists the users online in a room, across all nodes.</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The users.</returns>
    public async Task<IReadOnlyList<PresenceUser>> GetPresence(string room)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        var online = await _presence.GetOnlineAsync(roomName, Context.ConnectionAborted).ConfigureAwait(false);
        return online.Select(u => new PresenceUser(u.UserId, u.UserName)).ToArray();
    }

    /// <summary>Tells the room that the user is typing; members get a <c>typing</c> event that they expire after a few seconds.</summary>
    /// <param name="room">The room name.</param>
    /// <returns>A task that completes when published.</returns>
    public async Task Typing(string room)
    {
        var roomName = RoomName.Parse(room);
        await AuthorizeAsync(roomName, RoomOperation.Read).ConfigureAwait(false);
        await _presence.TypingAsync(Connection.User, roomName, Context.ConnectionAborted).ConfigureAwait(false);
    }

    private Task<RoomAccess> AuthorizeAsync(RoomName room, RoomOperation operation) =>
        RoomAuthorization.AuthorizeAsync(_authorization, _membership, Context.User ?? new System.Security.Claims.ClaimsPrincipal(), room, operation, Context.ConnectionAborted);

    /// <inheritdoc />
    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        // SignalR removes the connection from its groups; the engine forgets its memberships and presence.
        ClientConnection? connection;
        lock (Context.Items)
        {
            connection = Context.Items.TryGetValue(ConnectionKey, out var value) ? value as ClientConnection : null;
        }

        if (connection is not null)
        {
            await _delivery.DisconnectAsync(connection).ConfigureAwait(false);
        }

        await base.OnDisconnectedAsync(exception).ConfigureAwait(false);
    }

    /// <summary>Gets the order of this connection's joins and leaves (created on first use).</summary>
    private ConnectionTurns Turns
    {
        get
        {
            lock (Context.Items)
            {
                if (!Context.Items.TryGetValue(TurnsKey, out var value) || value is not ConnectionTurns turns)
                {
                    turns = new ConnectionTurns();
                    Context.Items[TurnsKey] = turns;
                }

                return turns;
            }
        }
    }

    /// <summary>Gets this connection's state in the delivery engine (created on first use: invocations of one connection may run
    /// in parallel, see <see cref="ChitChatHubOptions.MaximumParallelInvocationsPerClient"/>, hence the lock).</summary>
    private ClientConnection Connection
    {
        get
        {
            lock (Context.Items)
            {
                if (!Context.Items.TryGetValue(ConnectionKey, out var value) || value is not ClientConnection connection)
                {
                    connection = new ClientConnection(Context.ConnectionId, ChatClaims.GetIdentity(Context.User), _sink, _options.MaxRoomsPerConnection);
                    Context.Items[ConnectionKey] = connection;
                }

                return connection;
            }
        }
    }
}

/// <summary>A connection's queue of joins and leaves: each takes a turn before its first await and passes it on when done.</summary>
internal sealed class ConnectionTurns
{
    private readonly Lock _gate = new();
    private Task _tail = Task.CompletedTask;

    public (Task Previous, TaskCompletionSource Turn) Enter()
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var previous = _tail;
            _tail = turn.Task;
            return (previous, turn);
        }
    }
}

/// <summary>The hub's logs (a static class: the hub type itself is public and not partial).</summary>
internal static partial class HubLog
{
    [LoggerMessage(EventId = 6203, EventName = "UserChannelFailed", Level = LogLevel.Warning, Message = "A hub connection could not be subscribed to its user's channel; it receives no read or mention events.")]
    public static partial void UserChannelFailed(ILogger logger, Exception exception);
}
