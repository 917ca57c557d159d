using System.Collections.Concurrent;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Rooms;

/// <summary>Rooms: the default room, listing, lookup and creation.</summary>
/// <remarks>
/// Every send, history read, catch-up and presence call resolves its room here first, so found rooms are cached: rooms are
/// never deleted or renamed, hence a cached room never goes stale, and a busy room costs one store read per node, not one
/// per message. A miss is not cached (the room may be created on another node a moment later).
/// </remarks>
public sealed partial class RoomService
{
    private readonly IChatStore _store;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RoomService> _logger;
    private readonly ConcurrentDictionary<RoomName, ChatRoom> _knownRooms = new();

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public RoomService(IChatStore store, IOptions<ChitChatOptions> options, TimeProvider time, ILogger<RoomService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
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

    /// <summary>Lists the rooms.</summary>
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
            ?? throw new ChatException(ChatErrorCodes.RoomNotFound, $"The room '{room}' does not exist.");
        return _knownRooms.GetOrAdd(room, found); // rooms are never deleted, so caching them is safe
    }

    /// <summary>Creates a room.</summary>
    /// <param name="name">The room name.</param>
    /// <param name="creator">The creator.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room; its creator is its owner (one atomic step with the room).</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomExists"/>.</exception>
    public async Task<ChatRoom> CreateAsync(RoomName name, ChatIdentity creator, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var now = _time.GetUtcNow();
        var room = new ChatRoom(Guid.CreateVersion7(now), name.Value, creator.UserId, now, 1);
        var owner = RoomMembership.Join(name.Value, creator.UserId, creator.UserName, MemberRole.Owner, now);
        if (!await _store.Rooms.TryCreateWithMembersAsync(room, [owner], cancellationToken).ConfigureAwait(false))
        {
            throw new ChatException(ChatErrorCodes.RoomExists, $"The room '{name}' already exists.");
        }

        _knownRooms.TryAdd(name, room);
        LogRoomCreated(name.Value);
        return room;
    }

    [LoggerMessage(EventId = 1003, EventName = "RoomCreated", Level = LogLevel.Information, Message = "Room {Room} created.")]
    private partial void LogRoomCreated(string room);
}
