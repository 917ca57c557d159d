using ChitChat.Storage;

namespace ChitChat.Replication;

/// <summary>One document that differs between the primary and a replica, with the copy each side holds.</summary>
/// <param name="Type">How it differs.</param>
/// <param name="OnPrimary">The primary's copy, or <see langword="null"/> when only the replica holds it.</param>
/// <param name="OnReplica">The replica's copy, or <see langword="null"/> when only the primary holds it.</param>
internal sealed record DocumentDifference(DifferenceType Type, ChangeRecord? OnPrimary, ChangeRecord? OnReplica)
{
    private ChangeRecord Either => OnPrimary ?? OnReplica!;

    public DocumentKind Kind => Either.Kind;

    public Guid Id => Either.DocumentId;

    /// <summary>Gets the copy the difference is described by: the replica's when the replica is ahead (replica-only, replica-newer), else the primary's.</summary>
    public ChangeRecord Described => Type is DifferenceType.MissingOnPrimary or DifferenceType.OlderOnPrimary ? OnReplica! : OnPrimary!;

    /// <summary>Gets the room of the described copy (messages, update events, read markers), or <see langword="null"/>.</summary>
    public string? Room => Described.Message?.Room ?? Described.Update?.Room ?? Described.ReadMarker?.Room;

    /// <summary>Gets the sequence number of the described copy (messages, update events), or <see langword="null"/>.</summary>
    public long? Seq => Described.Message?.Seq ?? Described.Update?.Seq;

    public ReplicaDifference ToReport() =>
        new(Kind, Id, Type, OnPrimary?.DocumentVersion, OnReplica?.DocumentVersion, Room, Seq);
}

/// <summary>
/// Anti-entropy step 2 (difference): compares what the two sides hold, document by document: missing on the replica,
/// stale on the replica (<see cref="DifferenceType.OlderOnReplica"/>), replica-only (<see cref="DifferenceType.MissingOnPrimary"/>),
/// replica-newer (<see cref="DifferenceType.OlderOnPrimary"/>) and same version with other content (<see cref="DifferenceType.Conflict"/>).
/// A pure function of the two digests.
/// </summary>
internal static class DigestDifference
{
    /// <summary>Lists the differences, ordered by kind, room, seq and id (the report's order).</summary>
    public static IReadOnlyList<DocumentDifference> Compare(DocumentDigest primary, DocumentDigest replica)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(replica);
        var differences = new List<DocumentDifference>();
        foreach (var (key, p) in primary.Documents)
        {
            if (!replica.Documents.TryGetValue(key, out var r))
            {
                differences.Add(new DocumentDifference(DifferenceType.MissingOnReplica, p, null));
            }
            else if (p.DocumentVersion > r.DocumentVersion)
            {
                differences.Add(new DocumentDifference(DifferenceType.OlderOnReplica, p, r));
            }
            else if (p.DocumentVersion < r.DocumentVersion)
            {
                differences.Add(new DocumentDifference(DifferenceType.OlderOnPrimary, p, r));
            }
            else if (DigestLayout.Hash(p) != DigestLayout.Hash(r))
            {
                differences.Add(new DocumentDifference(DifferenceType.Conflict, p, r));
            }
        }

        foreach (var (key, r) in replica.Documents)
        {
            if (!primary.Documents.ContainsKey(key))
            {
                differences.Add(new DocumentDifference(DifferenceType.MissingOnPrimary, null, r));
            }
        }

        return differences
            .OrderBy(d => d.Kind)
            .ThenBy(d => d.Room, StringComparer.Ordinal)
            .ThenBy(d => d.Seq)
            .ThenBy(d => d.Id)
            .ToList();
    }
}
