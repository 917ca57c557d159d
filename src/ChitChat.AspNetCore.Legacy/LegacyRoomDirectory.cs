using System.Collections.Frozen;
using ChitChat.Rooms;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>
/// Maps ChitChat 1 numeric <c>chatroomId</c>s to the names of public rooms. <c>1</c> is always the default room (<c>global</c>); the
/// other rooms get <c>2, 3, ...</c> in creation order (<see cref="ChatRoom.CreatedAt"/>, then <see cref="ChatRoom.Id"/>).
/// The mapping is derived from the room list, so every node computes the same one without storing anything, and since
/// rooms are never deleted an alias never changes once every node has seen its room. It is rebuilt on a miss (a room
/// created since the last build).
/// </summary>
internal sealed class LegacyRoomDirectory(RoomService chatRooms, IOptions<ChitChatOptions> chatOptions)
{
    /// <summary>The alias of the default room.</summary>
    public const int DefaultRoomId = 1;

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot _snapshot = Snapshot.Empty;

    /// <summary>Finds the room of an alias.</summary>
    /// <param name="id">The alias.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room name, or <see langword="null"/> when no room has that alias.</returns>
    public async ValueTask<string?> FindRoomAsync(int id, CancellationToken cancellationToken = default)
    {
        if (id < DefaultRoomId)
        {
            return null;
        }

        if (_snapshot.ByAlias.TryGetValue(id, out var room))
        {
            return room;
        }

        var snapshot = await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return snapshot.ByAlias.GetValueOrDefault(id);
    }

    /// <summary>Finds the alias of a room.</summary>
    /// <param name="room">The normalized room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The alias, or <see langword="null"/> when the room does not exist.</returns>
    public async ValueTask<int?> FindIdAsync(string room, CancellationToken cancellationToken = default)
    {
        if (_snapshot.ByRoom.TryGetValue(room, out var id))
        {
            return id;
        }

        var snapshot = await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return snapshot.ByRoom.TryGetValue(room, out id) ? id : null;
    }

    private async Task<Snapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        var before = _snapshot;
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(before, _snapshot))
            {
                return _snapshot; // someone else refreshed while we waited
            }

            var rooms = await chatRooms.ListAsync(cancellationToken).ConfigureAwait(false);
            var snapshot = Snapshot.Build(rooms, chatOptions.Value.DefaultRoom);
            _snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private sealed class Snapshot(FrozenDictionary<int, string> byAlias, FrozenDictionary<string, int> byRoom)
    {
        public static Snapshot Empty { get; } = new(FrozenDictionary<int, string>.Empty, FrozenDictionary<string, int>.Empty);

        public FrozenDictionary<int, string> ByAlias { get; } = byAlias;

        public FrozenDictionary<string, int> ByRoom { get; } = byRoom;

        public static Snapshot Build(IReadOnlyList<ChatRoom> rooms, string defaultRoom)
        {
            var byAlias = new Dictionary<int, string> { [DefaultRoomId] = defaultRoom };
            var next = DefaultRoomId + 1;
            // The ChitChat 1 API knows public rooms only: private and direct rooms never get an alias.
            foreach (var room in rooms
                .Where(r => r.Kind == RoomKind.Public && !string.Equals(r.Name, defaultRoom, StringComparison.Ordinal))
                .OrderBy(r => r.CreatedAt)
                .ThenBy(r => r.Id)
                .ThenBy(r => r.Name, StringComparer.Ordinal))
            {
                byAlias[next++] = room.Name;
            }

            return new Snapshot(byAlias.ToFrozenDictionary(), byAlias.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal));
        }
    }
}
