namespace ChitChat.Presence;

/// <summary>
/// Tracks which users are online in which rooms, per connection (a user with two tabs is online until both leave).
/// The in-memory tracker covers one node; <c>ChitChat.Redis</c> supplies one that spans nodes and expires the
/// entries of a crashed node.
/// </summary>
public interface IPresenceTracker
{
    /// <summary>Records that a connection of a user is in a room.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="connectionId">The connection id (unique across nodes).</param>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when the user was not online in the room before (announce them).</returns>
    ValueTask<bool> JoinAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default);

    /// <summary>Records that a connection left a room (or disconnected).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="connectionId">The connection id.</param>
    /// <param name="user">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when the user has no connection left in the room (announce them offline).</returns>
    ValueTask<bool> LeaveAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default);

    /// <summary>Lists the users online in a room, each once, ordered by user name.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users.</returns>
    ValueTask<IReadOnlyList<OnlineUser>> GetOnlineAsync(string room, CancellationToken cancellationToken = default);
}

/// <summary>The presence tracker of a single node.</summary>
public sealed class InMemoryPresenceTracker : IPresenceTracker
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<Guid, (OnlineUser User, HashSet<string> Connections)>> _rooms = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<bool> JoinAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentException.ThrowIfNullOrEmpty(connectionId);
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var users))
            {
                _rooms[room] = users = [];
            }

            if (!users.TryGetValue(user.UserId, out var entry))
            {
                users[user.UserId] = (user, [connectionId]);
                return ValueTask.FromResult(true);
            }

            entry.Connections.Add(connectionId);
            return ValueTask.FromResult(false);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> LeaveAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentException.ThrowIfNullOrEmpty(connectionId);
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var users) || !users.TryGetValue(user.UserId, out var entry))
            {
                return ValueTask.FromResult(false);
            }

            if (!entry.Connections.Remove(connectionId) || entry.Connections.Count > 0)
            {
                return ValueTask.FromResult(false);
            }

            users.Remove(user.UserId);
            if (users.Count == 0)
            {
                _rooms.Remove(room);
            }

            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OnlineUser>> GetOnlineAsync(string room, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<OnlineUser> result = _rooms.TryGetValue(room, out var users)
                ? users.Values.Select(e => e.User).OrderBy(u => u.UserName, StringComparer.OrdinalIgnoreCase).ToArray()
                : [];
            return ValueTask.FromResult(result);
        }
    }
}
