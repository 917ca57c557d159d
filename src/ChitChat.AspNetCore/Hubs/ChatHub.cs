using ChitChat.AspNetCore.Authentication;
using ChitChat.AspNetCore.Delivery;
using ChitChat.AspNetCore.Http;
using ChitChat.History;
using ChitChat.Messaging;
using ChitChat.Presence;
using ChitChat.Rooms;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
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
    private const string StateKey = "ChitChat.ConnectionState";

    private readonly RoomService _rooms;
    private readonly MessageSender _sender;
    private readonly HistoryService _history;
    private readonly PresenceService _presence;
    private readonly RoomFanout _fanout;
    private readonly ChitChatHubOptions _options;

    /// <summary>Initializes a new instance. SignalR creates one per invocation.</summary>
    /// <param name="rooms">The rooms.</param>
    /// <param name="sender">The message sender.</param>
    /// <param name="history">The history.</param>
    /// <param name="presence">The presence and typing service.</param>
    /// <param name="options">The options.</param>
    /// <param name="services">The request services (for the node's internal room fan-out).</param>
    public ChatHub(RoomService rooms, MessageSender sender, HistoryService history, PresenceService presence, IOptions<ChitChatAspNetCoreOptions> options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(presence);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        _rooms = rooms;
        _sender = sender;
        _history = history;
        _presence = presence;
        _options = options.Value.Hub;
        _fanout = services.GetRequiredService<RoomFanout>();
    }

    /// <summary>
    /// Joins a room: returns the messages after <paramref name="afterSeq"/> up to the boundary <c>lastSeq</c> (capped; then
    /// <c>hasMore</c>), and from then on the connection receives live <c>message</c> events with <c>seq &gt; lastSeq</c>, with
    /// no gap and no duplicate. Without <paramref name="afterSeq"/> it returns the most recent messages instead. A live
    /// event may arrive before this result: buffer events by <c>seq</c>.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="afterSeq">The last sequence number the client has, or <see langword="null"/> for none.</param>
    /// <returns>The join result.</returns>
    public async Task<JoinRoomResult> JoinRoom(string room, long? afterSeq)
    {
        var membership = State.Membership;
        await membership.WaitAsync(Context.ConnectionAborted).ConfigureAwait(false);
        try
        {
            return await JoinRoomCoreAsync(room, afterSeq).ConfigureAwait(false);
        }
        finally
        {
            membership.Release();
        }
    }

    private async Task<JoinRoomResult> JoinRoomCoreAsync(string room, long? afterSeq)
    {
        var identity = ChatClaims.GetIdentity(Context.User);
        var roomName = RoomName.Parse(room);
        if (afterSeq is < 0)
        {
            throw ChatException.Validation("afterSeq", "afterSeq must not be negative.");
        }

        var aborted = Context.ConnectionAborted;
        await _rooms.GetAsync(roomName, aborted).ConfigureAwait(false);
        var state = State;
        bool isNewMember;
        lock (state)
        {
            if (state.Closed)
            {
                throw new OperationCanceledException(aborted);
            }

            isNewMember = !state.Rooms.Contains(roomName);
            if (isNewMember && state.Rooms.Count >= _options.MaxRoomsPerConnection)
            {
                throw new ChatException(ChatErrorCodes.TooManyRooms, $"A connection may join at most {_options.MaxRoomsPerConnection} rooms.");
            }
        }

        long boundary;
        if (isNewMember)
        {
            await _fanout.AcquireAsync(roomName, aborted).ConfigureAwait(false);
            bool closed;
            bool added = false;
            lock (state)
            {
                // Recorded only once acquired, so OnDisconnectedAsync releases exactly what was acquired.
                closed = state.Closed;
                if (!closed)
                {
                    added = state.Rooms.Add(roomName);
                }
            }

            if (closed)
            {
                await _fanout.ReleaseAsync(roomName).ConfigureAwait(false);
                throw new OperationCanceledException(aborted);
            }

            if (!added)
            {
                // Defensive: joins of one connection run one at a time (ConnectionState.Membership), so nothing else should
                // have recorded the room meanwhile; if something did, keep exactly one acquisition.
                await _fanout.ReleaseAsync(roomName).ConfigureAwait(false);
                isNewMember = false;
            }
        }

        try
        {
            boundary = await _fanout.JoinGroupAsync(roomName, Context.ConnectionId, aborted).ConfigureAwait(false);
        }
        catch when (isNewMember)
        {
            bool owned;
            lock (state)
            {
                owned = state.Rooms.Remove(roomName);
            }

            if (owned)
            {
                await _fanout.ReleaseAsync(roomName).ConfigureAwait(false);
            }

            throw;
        }

        if (isNewMember)
        {
            await _presence.EnterRoomAsync(roomName, Context.ConnectionId, identity, aborted).ConfigureAwait(false);
        }

        // Catch-up up to the boundary from the store; everything after it arrives live.
        IReadOnlyList<ChatMessage> missed;
        bool hasMore;
        if (afterSeq is null)
        {
            // No position: the most recent messages up to the boundary (older ones through GetHistory).
            var take = _options.RecentMessagesOnJoin;
            missed = take == 0 || boundary == 0 ? [] : await _history.GetRecentAsync(roomName, boundary, take, aborted).ConfigureAwait(false);
            hasMore = missed.Count > 0 ? missed[0].Seq > 1 : boundary > 0;
        }
        else
        {
            var catchUp = await _history.CatchUpAsync(roomName, afterSeq, boundary, aborted).ConfigureAwait(false);
            missed = catchUp.Missed;
            hasMore = catchUp.HasMore;
        }

        return new JoinRoomResult(roomName, boundary, missed.Select(MessageDto.From).ToArray(), hasMore);
    }

    /// <summary>Leaves a room: no more events from it, and the user goes offline there when this was their last connection in it.</summary>
    /// <param name="room">The room name.</param>
    /// <returns>A task that completes when left.</returns>
    public async Task LeaveRoom(string room)
    {
        var membership = State.Membership;
        await membership.WaitAsync(Context.ConnectionAborted).ConfigureAwait(false);
        try
        {
            await LeaveRoomCoreAsync(room).ConfigureAwait(false);
        }
        finally
        {
            membership.Release();
        }
    }

    private async Task LeaveRoomCoreAsync(string room)
    {
        var identity = ChatClaims.GetIdentity(Context.User);
        var roomName = RoomName.Parse(room);
        var state = State;
        lock (state)
        {
            if (!state.Rooms.Remove(roomName))
            {
                return;
            }
        }

        await Groups.RemoveFromGroupAsync(Context.ConnectionId, roomName).ConfigureAwait(false);
        await _fanout.ReleaseAsync(roomName).ConfigureAwait(false);
        await _presence.ExitRoomAsync(roomName, Context.ConnectionId, identity).ConfigureAwait(false);
    }

    /// <summary>Sends a message as the authenticated user. A retry with the same <paramref name="clientMessageId"/> returns the same acknowledgement and stores nothing.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The idempotency key (recommended).</param>
    /// <returns>The acknowledgement.</returns>
    public async Task<SendMessageAck> SendMessage(string room, string text, string? clientMessageId)
    {
        var identity = ChatClaims.GetIdentity(Context.User);

        // SignalR starts a connection's invocations in the order they arrived, and this call takes the message's turn
        // before its first await: pipelined sends of one connection keep their order (ChitChatHubOptions.MaximumParallelInvocationsPerClient).
        var request = new SendMessageRequest(RoomName.Parse(room), text, clientMessageId);
        var result = await _sender.SendAsync(identity, request, State.SendOrder, Context.ConnectionAborted).ConfigureAwait(false);
        return new SendMessageAck(result.Message.Id, result.Message.Seq, result.Message.SentAt.UtcDateTime);
    }

    /// <summary>Reads a page of history, ascending by seq.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="beforeSeq">Only messages before this seq (the latest of them).</param>
    /// <param name="afterSeq">Only messages after this seq (the earliest of them).</param>
    /// <param name="limit">The page size.</param>
    /// <returns>The messages.</returns>
    public async Task<IReadOnlyList<MessageDto>> GetHistory(string room, long? beforeSeq, long? afterSeq, int? limit)
    {
        ChatClaims.GetIdentity(Context.User);
        var page = await _history.GetHistoryAsync(RoomName.Parse(room), new HistoryQuery(beforeSeq, afterSeq, limit), Context.ConnectionAborted).ConfigureAwait(false);
        return page.Select(MessageDto.From).ToArray();
    }

    /// <summary>Lists the users online in a room, across all nodes.</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The users.</returns>
    public async Task<IReadOnlyList<PresenceUser>> GetPresence(string room)
    {
        ChatClaims.GetIdentity(Context.User);
        var online = await _presence.GetOnlineAsync(RoomName.Parse(room), Context.ConnectionAborted).ConfigureAwait(false);
        return online.Select(u => new PresenceUser(u.UserId, u.UserName)).ToArray();
    }

    /// <summary>Tells the room that the user is typing; members get a <c>typing</c> event that they expire after a few seconds.</summary>
    /// <param name="room">The room name.</param>
    /// <returns>A task that completes when published.</returns>
    public async Task Typing(string room)
    {
        var identity = ChatClaims.GetIdentity(Context.User);
        await _presence.TypingAsync(identity, RoomName.Parse(room), Context.ConnectionAborted).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        // SignalR removes the connection from its groups; this releases the node's room subscriptions and presence.
        if (ChatClaims.TryGetIdentity(Context.User, out var identity))
        {
            var state = State;
            string[] joined;
            lock (state)
            {
                state.Closed = true;
                joined = [.. state.Rooms];
                state.Rooms.Clear();
            }

            foreach (var room in joined)
            {
                await _fanout.ReleaseAsync(room).ConfigureAwait(false);
                try
                {
                    await _presence.ExitRoomAsync(RoomName.Parse(room), Context.ConnectionId, identity, CancellationToken.None).ConfigureAwait(false);
                }
                catch (ChatException)
                {
                    // Presence is best effort on disconnect (e.g. the presence store is unreachable); it expires elsewhere.
                }
            }
        }

        await base.OnDisconnectedAsync(exception).ConfigureAwait(false);
    }

    private ConnectionState State
    {
        get
        {
            // Context.Items is per connection; invocations of one connection may run in parallel
            // (ChitChatHubOptions.MaximumParallelInvocationsPerClient) and OnDisconnectedAsync may overlap one, hence the locks.
            lock (Context.Items)
            {
                if (!Context.Items.TryGetValue(StateKey, out var value) || value is not ConnectionState state)
                {
                    state = new ConnectionState();
                    Context.Items[StateKey] = state;
                }

                return state;
            }
        }
    }

    /// <summary>The rooms one connection has joined (and acquired on the node's fan-out), and the order of its sends and of
    /// its joins and leaves.</summary>
    private sealed class ConnectionState
    {
        public HashSet<string> Rooms { get; } = new(StringComparer.Ordinal);

        public SendOrder SendOrder { get; } = new();

        /// <summary>Gets the gate that runs the connection's JoinRoom and LeaveRoom one at a time, in the order they were
        /// invoked (SemaphoreSlim queues waiters first in, first out), so that "leave, join" pipelined ends joined.</summary>
        public SemaphoreSlim Membership { get; } = new(1, 1);

        public bool Closed { get; set; }
    }
}
