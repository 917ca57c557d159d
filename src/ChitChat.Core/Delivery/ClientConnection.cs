namespace ChitChat.Delivery;

/// <summary>
/// One client connection of a user on this node (a hub connection, a legacy socket): who it is, the sink that writes to
/// it, and the state the delivery engine and the sender keep for it (the rooms it joined, the order of its sends).
/// Create one when the connection opens, pass it to <see cref="DeliveryEngine"/> and to the message sender, and call
/// <see cref="DeliveryEngine.DisconnectAsync"/> when it closes. Thread-safe.
/// </summary>
public sealed class ClientConnection
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="connectionId">The connection id, unique on this node (it names the connection to its sink).</param>
    /// <param name="user">The authenticated user.</param>
    /// <param name="sink">The sink that writes room events to this connection.</param>
    /// <param name="maxRooms">How many rooms the connection may be in at once.</param>
    public ClientConnection(string connectionId, ChatIdentity user, IDeliverySink sink, int maxRooms = 50)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionId);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRooms, 1);
        ConnectionId = connectionId;
        User = user;
        Sink = sink;
        MaxRooms = maxRooms;
    }

    /// <summary>Gets the connection id.</summary>
    public string ConnectionId { get; }

    /// <summary>Gets the authenticated user.</summary>
    public ChatIdentity User { get; }

    /// <summary>Gets the sink that writes to this connection.</summary>
    public IDeliverySink Sink { get; }

    /// <summary>Gets how many rooms the connection may be in at once.</summary>
    public int MaxRooms { get; }

    /// <summary>Gets whether the connection's user is announced online in the rooms it joins (presence). Anonymous
    /// connections (the legacy sockets) set it to <see langword="false"/>.</summary>
    /// <value><see langword="true"/>.</value>
    public bool AnnouncesPresence { get; init; } = true;

    /// <summary>Gets the rooms the connection is in on this node.</summary>
    public IReadOnlyCollection<string> Rooms
    {
        get
        {
            lock (Joined)
            {
                return [.. Joined.Select(room => room.Value)];
            }
        }
    }

    /// <summary>The rooms the engine has made this connection a member of; guarded by locking it.</summary>
    internal HashSet<RoomName> Joined { get; } = [];

    /// <summary>Runs the connection's joins and leaves one at a time, in call order (SemaphoreSlim queues waiters first in,
    /// first out), so that a pipelined "leave, join" ends joined.</summary>
    internal SemaphoreSlim Membership { get; } = new(1, 1);

    /// <summary>Keeps the connection's pipelined sends in the order it made them.</summary>
    internal SendOrder SendOrder { get; } = new();

    /// <summary>The exits still completing of rooms the connection was removed from (its user was removed or banned),
    /// chained; a join waits for them. Guarded by locking <see cref="Joined"/>.</summary>
    internal Task Removals { get; set; } = Task.CompletedTask;

    /// <summary>Whether the connection is in its user's channel (<see cref="Transport.UserChannels"/>: <c>read</c> and
    /// <c>mention</c> events); guarded by locking <see cref="Joined"/>.</summary>
    internal bool InUserChannel { get; set; }

    /// <summary>Set once the connection is closed; guarded by locking <see cref="Joined"/>.</summary>
    internal bool Closed { get; set; }

    /// <summary>Whether the connection is counted in the engine's connections metric (from its first join until it closes);
    /// guarded by locking <see cref="Joined"/>.</summary>
    internal bool Counted { get; set; }
}
