using System.Collections.Concurrent;
using ChitChat.Membership;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Rooms;

/// <summary>Rooms: the default room, listing, lookup, creation and the topic. Memberships are <see cref="MembershipService"/>'s.</summary>
/// <remarks>
/// Every send, history read, catch-up and presence call resolves its room here first, so found rooms are cached: rooms are
/// never deleted or renamed, hence a cached room never goes stale, and a busy room costs one store read per node, not one
/// per message. A miss is not cached (the room may be created on another node a moment later).
/// </remarks>
public sealed partial class RoomService
{
    private readonly IChatStore _store;
    private readonly IChatTransport _transport;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RoomService> _logger;
    private readonly ConcurrentDictionary<RoomName, ChatRoom> _knownRooms = new();

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="transport">The transport (the creator's membership event).</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public RoomService(IChatStore store, IChatTransport transport, IOptions<ChitChatOptions> options, TimeProvider time, ILogger<RoomService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _transport = transport;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Creates the default room (<see cref="ChitChatOptions.DefaultRoom"/>) if it does not exist. Called at start-up.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The default room.</returns>
    public async Task<ChatRoom> EnsureDefaultRoomAsync(CancellationToken cancellationToken = default)
    {
        var name = RoomName.Parse(_options.DefaultRoom, nameof(ChitChatOptions.DefaultRoom));
        var existing = await _store.Rooms.FindByNameAsync(name.Value, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return _knownRooms.GetOrAdd(name, existing);
        }

        var room = new ChatRoom(Guid.CreateVersion7(_time.GetUtcNow()), name.Value, null, _time.GetUtcNow(), 1);
        await _store.Rooms.TryCreateAsync(room, cancellationToken).ConfigureAwait(false);
        return await GetAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists every room, of every kind (for internal use: a user's list is <see cref="MembershipService.ListRoomsAsync"/>).</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms ordered by name.</returns>
    public Task<IReadOnlyList<ChatRoom>> ListAsync(CancellationToken cancellationToken = default) => _store.Rooms.ListAsync(cancellationToken);

    /// <summary>Gets a room.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>.</exception>
    public async Task<ChatRoom> GetAsync(RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (_knownRooms.TryGetValue(room, out var known))
        {
            return known;
        }

        var found = await _store.Rooms.FindByNameAsync(room.Value, cancellationToken).ConfigureAwait(false)
            ?? throw RoomAccessRules.RoomNotFound(room.Value);
        return _knownRooms.GetOrAdd(room, found); // rooms are never deleted, so caching them is safe
    }

    /// <summary>Creates a public or private room; its creator is its owner (one atomic step with the room).</summary>
    /// <param name="name">The room name (not starting with <see cref="ChatRoom.DirectPrefix"/>, reserved for direct rooms).</param>
    /// <param name="creator">The creator.</param>
    /// <param name="kind">The kind: <see cref="RoomKind.Public"/> or <see cref="RoomKind.Private"/> (direct rooms are
    /// <see cref="MembershipService.GetOrCreateDirectAsync"/>'s).</param>
    /// <param name="topic">The topic, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomExists"/> (also when a private room has the name) or <see cref="ChatErrorCodes.ValidationFailed"/>.</exception>
    public async Task<ChatRoom> CreateAsync(RoomName name, ChatIdentity creator, RoomKind kind = RoomKind.Public, string? topic = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Value.StartsWith(ChatRoom.DirectPrefix, StringComparison.Ordinal))
        {
            throw ChatException.Validation("name", $"Room names starting with '{ChatRoom.DirectPrefix}' are reserved for direct rooms.");
        }

        if (kind is not (RoomKind.Public or RoomKind.Private))
        {
            throw ChatException.Validation("kind", "kind is 'public' or 'private'; direct rooms are created with POST /api/direct.");
        }

        topic = ValidateTopic(topic);
        var now = _time.GetUtcNow();
        var room = new ChatRoom(Guid.CreateVersion7(now), name.Value, creator.UserId, now, 1) { Kind = kind, Topic = topic };
        var owner = RoomMembership.Join(name.Value, creator.UserId, creator.UserName, MemberRole.Owner, now);
        if (!await _store.Rooms.TryCreateWithMembersAsync(room, [owner], cancellationToken).ConfigureAwait(false))
        {
            throw new ChatException(ChatErrorCodes.RoomExists, $"The room '{name}' already exists.");
        }

        _knownRooms.TryAdd(name, room);
        LogRoomCreated(name.Value);
        try
        {
            await _transport.PublishAsync(new MembershipChanged(name.Value, creator.UserId, creator.UserName, MemberRole.Owner, MemberChange.Added), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogOwnerPublishFailed(name.Value, ex);
        }

        // The stored room has MembershipVersion 0 and version 1 (creation with members is one step, not a membership change).
        return await _store.Rooms.FindByNameAsync(name.Value, cancellationToken).ConfigureAwait(false) ?? room;
    }

    /// <summary>Changes a room's topic (owner or moderator; never in a direct room), by compare-and-set on the room.</summary>
    /// <param name="actor">The acting user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="topic">The new topic; <see langword="null"/> or empty clears it.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room as stored.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/> or <see cref="ChatErrorCodes.ValidationFailed"/>.</exception>
    public async Task<ChatRoom> UpdateTopicAsync(ChatIdentity actor, RoomName room, string? topic, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        for (var attempt = 0; attempt < 32; attempt++)
        {
            var stored = await _store.Rooms.FindByNameAsync(room.Value, cancellationToken).ConfigureAwait(false)
                ?? throw RoomAccessRules.RoomNotFound(room.Value);
            var membership = await _store.Memberships.FindAsync(stored.Name, actor.UserId, cancellationToken).ConfigureAwait(false);
            if (RoomAccessRules.Check(new RoomAccess(actor, stored, membership), RoomOperation.UpdateTopic, _time.GetUtcNow()) is { } error)
            {
                throw error;
            }

            var value = ValidateTopic(topic);
            if (string.Equals(value, stored.Topic, StringComparison.Ordinal))
            {
                return stored;
            }

            var updated = stored with { Topic = value, Version = stored.Version + 1 };
            if (await _store.Rooms.TryUpdateAsync(updated, cancellationToken).ConfigureAwait(false))
            {
                return updated;
            }
        }

        throw new ChatException(ChatErrorCodes.Unavailable, $"The room '{room}' is changing too fast; try again.", retryAfter: TimeSpan.FromSeconds(1));
    }

    private string? ValidateTopic(string? topic)
    {
        if (string.IsNullOrWhiteSpace(topic))
        {
            return null;
        }

        topic = topic.Trim();
        if (topic.Length > _options.MaxTopicLength || topic.Any(static c => char.IsControl(c)))
        {
            throw ChatException.Validation("topic", $"A topic is at most {_options.MaxTopicLength} characters without control characters.");
        }

        return topic;
    }

    [LoggerMessage(EventId = 1003, EventName = "RoomCreated", Level = LogLevel.Information, Message = "Room {Room} created.")]
    private partial void LogRoomCreated(string room);

    [LoggerMessage(EventId = 1304, EventName = "RoomOwnerPublishFailed", Level = LogLevel.Warning, Message = "Publishing the owner of the new room {Room} failed; the room is stored.")]
    private partial void LogOwnerPublishFailed(string room, Exception exception);
}
