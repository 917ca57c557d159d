using System.Text.Json.Serialization;

namespace ChitChat.Storage;

/// <summary>The kind of document a change carries.</summary>
public enum DocumentKind
{
    /// <summary>A <see cref="ChatUser"/>.</summary>
    User = 1,
    /// <summary>A <see cref="ChatRoom"/>.</summary>
    Room = 2,
    /// <summary>A <see cref="ChatMessage"/>.</summary>
    Message = 3,
    /// <summary>A <see cref="RoomMembership"/> (its id is <see cref="RoomMembership.Id"/>).</summary>
    Membership = 4,
    /// <summary>A <see cref="ChitChat.MessageUpdate"/>: an update event of a room's sequence (immutable; its id is <see cref="MessageUpdate.Id"/>).</summary>
    MessageUpdate = 5,
    /// <summary>A <see cref="ChitChat.ReadMarker"/> (its id is <see cref="ReadMarker.Id"/>, its version its <c>seq</c>).</summary>
    ReadMarker = 6,
}

/// <summary>One change in a store's change feed: the full document as it is after the change.</summary>
/// <param name="Position">The store-local, strictly increasing position of the change.</param>
/// <param name="Kind">The kind of document.</param>
/// <param name="ChangedAt">When the change was written to this store.</param>
/// <param name="User">The user, when <paramref name="Kind"/> is <see cref="DocumentKind.User"/>.</param>
/// <param name="Room">The room, when <paramref name="Kind"/> is <see cref="DocumentKind.Room"/>.</param>
/// <param name="Message">The message, when <paramref name="Kind"/> is <see cref="DocumentKind.Message"/>.</param>
public sealed record ChangeRecord(
    long Position,
    DocumentKind Kind,
    DateTimeOffset ChangedAt,
    ChatUser? User = null,
    ChatRoom? Room = null,
    ChatMessage? Message = null)
{
    /// <summary>Gets the membership, when <see cref="Kind"/> is <see cref="DocumentKind.Membership"/>.</summary>
    public RoomMembership? Membership { get; init; }

    /// <summary>Gets the update event, when <see cref="Kind"/> is <see cref="DocumentKind.MessageUpdate"/>.</summary>
    public MessageUpdate? Update { get; init; }

    /// <summary>Gets the read marker, when <see cref="Kind"/> is <see cref="DocumentKind.ReadMarker"/>.</summary>
    public ReadMarker? ReadMarker { get; init; }

    /// <summary>Gets the document's id.</summary>
    [JsonIgnore]
    public Guid DocumentId => Kind switch
    {
        DocumentKind.User => User!.Id,
        DocumentKind.Room => Room!.Id,
        DocumentKind.Membership => Membership!.Id,
        DocumentKind.MessageUpdate => Update!.Id,
        DocumentKind.ReadMarker => ReadMarker!.Id,
        _ => Message!.Id,
    };

    /// <summary>Gets the document's version.</summary>
    [JsonIgnore]
    public long DocumentVersion => Kind switch
    {
        DocumentKind.User => User!.Version,
        DocumentKind.Room => Room!.Version,
        DocumentKind.Membership => Membership!.Version,
        DocumentKind.MessageUpdate => Update!.Version,
        DocumentKind.ReadMarker => ReadMarker!.Version,
        _ => Message!.Version,
    };

    /// <summary>Creates a change for a user.</summary>
    /// <param name="position">The position.</param>
    /// <param name="changedAt">The change time.</param>
    /// <param name="user">The user.</param>
    /// <returns>The change.</returns>
    public static ChangeRecord ForUser(long position, DateTimeOffset changedAt, ChatUser user) => new(position, DocumentKind.User, changedAt, User: user);

    /// <summary>Creates a change for a room.</summary>
    /// <param name="position">The position.</param>
    /// <param name="changedAt">The change time.</param>
    /// <param name="room">The room.</param>
    /// <returns>The change.</returns>
    public static ChangeRecord ForRoom(long position, DateTimeOffset changedAt, ChatRoom room) => new(position, DocumentKind.Room, changedAt, Room: room);

    /// <summary>Creates a change for a message.</summary>
    /// <param name="position">The position.</param>
    /// <param name="changedAt">The change time.</param>
    /// <param name="message">The message.</param>
    /// <returns>The change.</returns>
    public static ChangeRecord ForMessage(long position, DateTimeOffset changedAt, ChatMessage message) => new(position, DocumentKind.Message, changedAt, Message: message);

    /// <summary>Creates a change for a membership.</summary>
    /// <param name="position">The position.</param>
    /// <param name="changedAt">The change time.</param>
    /// <param name="membership">The membership.</param>
    /// <returns>The change.</returns>
    public static ChangeRecord ForMembership(long position, DateTimeOffset changedAt, RoomMembership membership) =>
        new(position, DocumentKind.Membership, changedAt) { Membership = membership };

    /// <summary>Creates a change for an update event.</summary>
    /// <param name="position">The position.</param>
    /// <param name="changedAt">The change time.</param>
    /// <param name="update">The update event.</param>
    /// <returns>The change.</returns>
    public static ChangeRecord ForUpdate(long position, DateTimeOffset changedAt, MessageUpdate update) =>
        new(position, DocumentKind.MessageUpdate, changedAt) { Update = update };

    /// <summary>Creates a change for a read marker.</summary>
    /// <param name="position">The position.</param>
    /// <param name="changedAt">The change time.</param>
    /// <param name="marker">The read marker.</param>
    /// <returns>The change.</returns>
    public static ChangeRecord ForReadMarker(long position, DateTimeOffset changedAt, ReadMarker marker) =>
        new(position, DocumentKind.ReadMarker, changedAt) { ReadMarker = marker };

    /// <summary>Gets whether the change carries the document its <see cref="Kind"/> names.</summary>
    [JsonIgnore]
    public bool HasDocument => Kind switch
    {
        DocumentKind.User => User is not null,
        DocumentKind.Room => Room is not null,
        DocumentKind.Message => Message is not null,
        DocumentKind.Membership => Membership is not null,
        DocumentKind.MessageUpdate => Update is not null,
        DocumentKind.ReadMarker => ReadMarker is not null,
        _ => false,
    };
}

/// <summary>A batch read from a change feed.</summary>
/// <param name="Changes">The changes, ascending by position.</param>
/// <param name="HeadPosition">The highest position in the store when the batch was read (for lag).</param>
public sealed record ChangeBatch(IReadOnlyList<ChangeRecord> Changes, long HeadPosition)
{
    /// <summary>Gets the position to read after next time: the last change's position, or <paramref name="fallback"/> when empty.</summary>
    /// <param name="fallback">The position the batch was read after.</param>
    /// <returns>The next checkpoint.</returns>
    public long NextCheckpoint(long fallback) => Changes.Count == 0 ? fallback : Changes[^1].Position;
}

/// <summary>A replica's durable sync state for one source.</summary>
/// <param name="SourceId">The source (primary) identifier.</param>
/// <param name="Position">The source change-feed position applied up to.</param>
/// <param name="FencingToken">The highest fencing token that has written to this replica for the source.</param>
/// <param name="UpdatedAt">When the checkpoint was last written.</param>
public sealed record ReplicaCheckpoint(string SourceId, long Position, long FencingToken, DateTimeOffset UpdatedAt);

/// <summary>A batch of documents to upsert into a store, with the checkpoint to store in the same unit of work.</summary>
/// <param name="Changes">The documents to upsert (last writer wins by version; equal versions are left alone).</param>
/// <param name="SourceId">The source the documents come from.</param>
/// <param name="FencingToken">The writer's lease fencing token; a write with a token lower than one already seen for the source is rejected.</param>
/// <param name="Checkpoint">The source position to record, or <see langword="null"/> to leave the checkpoint unchanged (repairs).</param>
public sealed record ReplicationWrite(IReadOnlyList<ChangeRecord> Changes, string SourceId, long FencingToken, long? Checkpoint);

/// <summary>Thrown when a replication write carries a fencing token older than one the store has already accepted.</summary>
public sealed class FencingTokenRejectedException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="sourceId">The source.</param>
    /// <param name="offered">The token of the rejected write.</param>
    /// <param name="current">The highest token already accepted.</param>
    public FencingTokenRejectedException(string sourceId, long offered, long current)
        : base($"Replication write for source '{sourceId}' rejected: fencing token {offered} is older than {current}.")
    {
        SourceId = sourceId;
        Offered = offered;
        Current = current;
    }

    /// <summary>Gets the source.</summary>
    public string SourceId { get; }

    /// <summary>Gets the rejected token.</summary>
    public long Offered { get; }

    /// <summary>Gets the highest accepted token.</summary>
    public long Current { get; }
}

/// <summary>The change feed and idempotent batch upsert of a store: what replication needs.</summary>
public interface IReplicationStore
{
    /// <summary>Reads the changes with a position greater than <paramref name="afterPosition"/>, ascending, at most <paramref name="maxCount"/>.
    /// Every change is returned exactly once across consecutive batches. A document changed several times may appear once per change or
    /// only at its latest position.</summary>
    /// <param name="afterPosition">The position to read after (0 for the beginning).</param>
    /// <param name="maxCount">The batch size.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The batch.</returns>
    Task<ChangeBatch> ReadChangesAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Gets the highest change position in the store (0 when empty).</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The head position.</returns>
    Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default);

    /// <summary>Gets the stored checkpoint for a source, or <see langword="null"/>.</summary>
    /// <param name="sourceId">The source.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The checkpoint.</returns>
    Task<ReplicaCheckpoint?> GetCheckpointAsync(string sourceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Upserts documents idempotently (by id; the higher version wins; messages keep the sequence number they carry) and,
    /// when <see cref="ReplicationWrite.Checkpoint"/> is set, stores the checkpoint in the same unit of work where the store allows it.
    /// Applying the same write twice changes nothing the second time. Throws <see cref="FencingTokenRejectedException"/> for a stale token.
    /// </summary>
    /// <param name="write">The write.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The number of documents inserted or replaced.</returns>
    Task<int> ApplyAsync(ReplicationWrite write, CancellationToken cancellationToken = default);

    /// <summary>Enumerates every document of a kind (users and rooms by id; messages by room then sequence number;
    /// memberships by room then user id).</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The documents as changes (position is the store-local position of the document's latest change).</returns>
    IAsyncEnumerable<ChangeRecord> ScanAsync(DocumentKind kind, CancellationToken cancellationToken = default);
}
