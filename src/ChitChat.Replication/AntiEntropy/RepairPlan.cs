using ChitChat.Storage;

namespace ChitChat.Replication;

/// <summary>
/// Anti-entropy step 3 (repair plan): the writes a repair makes for one replica, decided from the differences alone so
/// that it can be inspected and tested before anything is written.
/// </summary>
/// <remarks>
/// The primary is the authority: what it holds newer, or what the replica lacks, is copied to the replica. The other
/// direction (a replica-only or replica-newer document copied into the primary, where it takes a sequence number, a
/// user name or a room name that clients then see) happens only with <see cref="ReplicationOptions.RepairPrimary"/>;
/// otherwise such documents are listed in <see cref="Unrepaired"/> (reported, logged and counted, never written).
/// Conflicts (same version, other content) are never written either way.
/// </remarks>
/// <param name="ToReplica">The primary's copies to apply to the replica.</param>
/// <param name="ToPrimary">The replica's copies to apply to the primary (empty unless <see cref="ReplicationOptions.RepairPrimary"/>).</param>
/// <param name="Unrepaired">The differences the plan leaves alone.</param>
internal sealed record RepairPlan(IReadOnlyList<ChangeRecord> ToReplica, IReadOnlyList<ChangeRecord> ToPrimary, IReadOnlyList<DocumentDifference> Unrepaired)
{
    /// <summary>Gets a value indicating whether the plan writes nothing.</summary>
    public bool WritesNothing => ToReplica.Count == 0 && ToPrimary.Count == 0;

    /// <summary>Plans the repair of <paramref name="differences"/>.</summary>
    /// <param name="differences">The differences of one replica (step 2).</param>
    /// <param name="repairPrimary">Whether replica-only and replica-newer documents are copied to the primary.</param>
    /// <returns>The plan.</returns>
    public static RepairPlan Create(IReadOnlyList<DocumentDifference> differences, bool repairPrimary)
    {
        ArgumentNullException.ThrowIfNull(differences);
        var toReplica = new List<ChangeRecord>();
        var toPrimary = new List<ChangeRecord>();
        var unrepaired = new List<DocumentDifference>();
        foreach (var d in differences)
        {
            switch (d.Type)
            {
                case DifferenceType.MissingOnReplica or DifferenceType.OlderOnReplica:
                    toReplica.Add(d.OnPrimary!);
                    break;
                case DifferenceType.MissingOnPrimary or DifferenceType.OlderOnPrimary when repairPrimary:
                    toPrimary.Add(d.OnReplica!);
                    break;
                default:
                    unrepaired.Add(d);
                    break;
            }
        }

        return new RepairPlan(toReplica, toPrimary, unrepaired);
    }
}
