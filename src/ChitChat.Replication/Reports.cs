using ChitChat.Storage;

namespace ChitChat.Replication;

/// <summary>Runs replication on demand and reports on it. Registered by <c>AddReplication</c>.</summary>
public interface IReplicationManager
{
    /// <summary>
    /// Runs one incremental sync pass (primary change feed to every replica) now, if this node holds or can take the sync lease.
    /// Like every member that runs a pass, it waits for the pass already running on this node (one at a time) and throws
    /// <see cref="ObjectDisposedException"/> once the manager is disposed.
    /// </summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>What the pass did.</returns>
    Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Compares the primary with every replica (digests per kind, room and sequence range, then documents by id in the
    /// differing ranges). Writes nothing, so it needs no lease; it takes the same guard as <see cref="SyncNowAsync"/> and
    /// <see cref="RepairAsync"/> (waits for this node's running pass, throws <see cref="ObjectDisposedException"/> once disposed).
    /// </summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The verdict per replica.</returns>
    Task<VerifyReport> VerifyAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs anti-entropy now, under the sync lease: compares like <see cref="VerifyAsync"/> and copies to each replica what
    /// it lacks or holds older. Documents a replica holds alone or newer are copied to the primary only with
    /// <see cref="ReplicationOptions.RepairPrimary"/>; otherwise they stay in the report's differences.
    /// </summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>What differed before the repair, and how many documents were written.</returns>
    Task<VerifyReport> RepairAsync(CancellationToken cancellationToken = default);

    /// <summary>Gets the last observed state of every replica.</summary>
    /// <returns>The replica states, by name.</returns>
    IReadOnlyList<ReplicaStatus> GetStatus();
}

/// <summary>The result of one sync pass.</summary>
/// <param name="IsLeader">Whether this node held the sync lease (a pass without it does nothing).</param>
/// <param name="FencingToken">The lease's fencing token, or 0 without the lease.</param>
/// <param name="Replicas">The result per replica (empty without the lease).</param>
public sealed record SyncReport(bool IsLeader, long FencingToken, IReadOnlyList<ReplicaSyncResult> Replicas)
{
    /// <summary>Gets a value indicating whether every replica synced without error.</summary>
    public bool Succeeded => IsLeader && Replicas.All(r => r.Error is null);

    /// <summary>Gets the number of documents written over all replicas.</summary>
    public long DocumentsApplied => Replicas.Sum(r => (long)r.Applied);
}

/// <summary>The sync result of one replica.</summary>
/// <param name="Replica">The replica name.</param>
/// <param name="FromPosition">The primary position the pass started after (the replica's checkpoint).</param>
/// <param name="ToPosition">The primary position the replica has applied up to after the pass.</param>
/// <param name="Read">The changes read from the primary.</param>
/// <param name="Applied">The documents inserted or replaced on the replica.</param>
/// <param name="Batches">The batches applied.</param>
/// <param name="Error">Why the pass stopped early, or <see langword="null"/>.</param>
public sealed record ReplicaSyncResult(string Replica, long FromPosition, long ToPosition, int Read, int Applied, int Batches, string? Error);

/// <summary>The result of a verification or repair.</summary>
/// <param name="Replicas">The verdict per replica.</param>
public sealed record VerifyReport(IReadOnlyList<ReplicaVerification> Replicas)
{
    /// <summary>Gets a value indicating whether every replica equals the primary.</summary>
    public bool InSync => Replicas.All(r => r.InSync);

    /// <summary>Gets a one-line summary, e.g. <c>in sync: 3012 documents</c>.</summary>
    /// <returns>The summary.</returns>
    public string Summarize() => InSync
        ? $"in sync: {Replicas.Select(r => r.DocumentsCompared).DefaultIfEmpty(0).Max()} documents"
        : "not in sync: " + string.Join("; ", Replicas.Where(r => !r.InSync).Select(r => r.Error is not null
            ? $"{r.Replica}: {r.Error}"
            : $"{r.Replica}: {r.TotalDifferences} differences ({string.Join(", ", r.Differences.GroupBy(d => d.Type).Select(g => $"{g.Count()} {g.Key}"))})"));
}

/// <summary>The comparison of one replica with the primary.</summary>
/// <param name="Replica">The replica name.</param>
/// <param name="InSync">Whether every document is equal (by id, version and, for messages, room and sequence number).</param>
/// <param name="DocumentsCompared">The documents on the primary.</param>
/// <param name="TotalDifferences">All differences found.</param>
/// <param name="Differences">The first differences (up to <see cref="ReplicationOptions.MaxReportedDifferences"/>).</param>
/// <param name="Repaired">The documents written by a repair (0 for a verification).</param>
/// <param name="Error">Why the comparison could not complete, or <see langword="null"/>.</param>
public sealed record ReplicaVerification(string Replica, bool InSync, long DocumentsCompared, int TotalDifferences, IReadOnlyList<ReplicaDifference> Differences, int Repaired, string? Error);

/// <summary>How a document differs between the primary and a replica.</summary>
public enum DifferenceType
{
    /// <summary>On the primary only.</summary>
    MissingOnReplica,

    /// <summary>On the replica only (replica-only; copied to the primary only with <see cref="ReplicationOptions.RepairPrimary"/>).</summary>
    MissingOnPrimary,

    /// <summary>The replica holds an older version (stale on the replica).</summary>
    OlderOnReplica,

    /// <summary>The primary holds an older version (replica-newer; copied to the primary only with <see cref="ReplicationOptions.RepairPrimary"/>).</summary>
    OlderOnPrimary,

    /// <summary>Same version, different content (e.g. a message at another sequence number); the primary's copy is authoritative.</summary>
    Conflict,
}

/// <summary>One document that differs.</summary>
/// <param name="Kind">The kind of document.</param>
/// <param name="Id">The document id.</param>
/// <param name="Type">How it differs.</param>
/// <param name="PrimaryVersion">The version on the primary, if present.</param>
/// <param name="ReplicaVersion">The version on the replica, if present.</param>
/// <param name="Room">The room, for messages, update events and read markers.</param>
/// <param name="Seq">The sequence number, for messages and update events.</param>
public sealed record ReplicaDifference(DocumentKind Kind, Guid Id, DifferenceType Type, long? PrimaryVersion, long? ReplicaVersion, string? Room = null, long? Seq = null);
