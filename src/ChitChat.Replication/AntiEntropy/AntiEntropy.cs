using ChitChat.Diagnostics;
using ChitChat.Leases;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;

namespace ChitChat.Replication;

/// <summary>
/// Anti-entropy: compares the primary with every replica in three explicit steps, digest (<see cref="StoreDigest"/>,
/// <see cref="DocumentDigest"/>) → difference (<see cref="DigestDifference"/>) → repair plan (<see cref="RepairPlan"/>),
/// and, for a repair, executes the plan under the sync lease.
/// </summary>
internal sealed partial class AntiEntropy
{
    private readonly ReplicaSet _set;
    private readonly SyncLeadership _leadership;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger<AntiEntropy> _logger;

    public AntiEntropy(ReplicaSet set, SyncLeadership leadership, ReplicationMetrics metrics, ILogger<AntiEntropy> logger)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(leadership);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _set = set;
        _leadership = leadership;
        _metrics = metrics;
        _logger = logger;
    }

    private ReplicationOptions Options => _set.Options;

    private DigestLayout Layout => new(Options.AntiEntropyBucketSize);

    /// <summary>Compares every replica with the primary and, with <paramref name="lease"/>, repairs it; without one (a verification) writes nothing.</summary>
    public async Task<VerifyReport> RunAsync(ILease? lease, CancellationToken cancellationToken)
    {
        using var activity = ChitChatDiagnostics.ActivitySource.StartActivity(lease is not null ? ChitChatInstrumentNames.ReplicationRepairActivity : ChitChatInstrumentNames.ReplicationVerifyActivity);
        StoreDigest primaryDigest;
        try
        {
            await _set.Primary.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            primaryDigest = await StoreDigest.BuildAsync(_set.Primary.Store, Layout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ReplicationNode.IsStoreFailure(ex, cancellationToken))
        {
            return new VerifyReport(_set.Replicas.Select(r => new ReplicaVerification(r.Name, false, 0, 0, [], 0, $"primary unreachable: {ex.Message}")).ToArray());
        }

        var results = new List<ReplicaVerification>();
        foreach (var replica in _set.Replicas)
        {
            try
            {
                var result = await CompareAsync(replica, primaryDigest, lease, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                LogCompared(replica.Name, lease is not null ? "repair" : "verify", result.DocumentsCompared, result.TotalDifferences, result.Repaired);
            }
            catch (FencingTokenRejectedException ex)
            {
                _leadership.Fenced(replica.Name, ex);
                results.Add(new ReplicaVerification(replica.Name, false, primaryDigest.Count, 0, [], 0, $"fenced: {ex.Message}"));
                break;
            }
            catch (Exception ex) when (ReplicationNode.IsStoreFailure(ex, cancellationToken))
            {
                results.Add(new ReplicaVerification(replica.Name, false, primaryDigest.Count, 0, [], 0, $"unreachable: {ex.Message}"));
            }
        }

        return new VerifyReport(results);
    }

    /// <summary>Steps 1 and 2 for one replica: the differences from the primary (empty when the bucket summaries agree).</summary>
    internal async Task<IReadOnlyList<DocumentDifference>> DiffAsync(ReplicationNode replica, StoreDigest primaryDigest, CancellationToken cancellationToken)
    {
        await replica.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var replicaDigest = await StoreDigest.BuildAsync(replica.Store, Layout, cancellationToken).ConfigureAwait(false);
        var differing = primaryDigest.DifferingBuckets(replicaDigest);
        if (differing.Count == 0)
        {
            return [];
        }

        var onPrimary = await DocumentDigest.BuildAsync(_set.Primary.Store, differing, Layout, cancellationToken).ConfigureAwait(false);
        var onReplica = await DocumentDigest.BuildAsync(replica.Store, differing, Layout, cancellationToken).ConfigureAwait(false);
        return DigestDifference.Compare(onPrimary, onReplica);
    }

    private async Task<ReplicaVerification> CompareAsync(ReplicationNode replica, StoreDigest primaryDigest, ILease? lease, CancellationToken cancellationToken)
    {
        var differences = await DiffAsync(replica, primaryDigest, cancellationToken).ConfigureAwait(false);
        var repaired = 0;
        if (lease is not null && differences.Count > 0)
        {
            var plan = RepairPlan.Create(differences, Options.RepairPrimary);
            repaired = await ExecuteAsync(replica, plan, lease, cancellationToken).ConfigureAwait(false);
        }

        var reported = differences.Take(Options.MaxReportedDifferences).Select(d => d.ToReport()).ToArray();
        return new ReplicaVerification(replica.Name, differences.Count == 0, primaryDigest.Count, differences.Count, reported, repaired, null);
    }

    /// <summary>Step 4: executes a plan under <paramref name="lease"/>; returns the documents written.</summary>
    internal async Task<int> ExecuteAsync(ReplicationNode replica, RepairPlan plan, ILease lease, CancellationToken cancellationToken)
    {
        ReportUnrepaired(replica, plan);

        // Replica-only documents go to the primary unless they would take a slot (room + seq, user or room name) the primary already uses.
        var toPrimary = await WithoutPrimaryCollisionsAsync(plan.ToPrimary, cancellationToken).ConfigureAwait(false);
        var repaired = await ApplyInChunksAsync(replica, plan.ToReplica, Options.SourceId, lease, "to-replica", replica.Name, cancellationToken).ConfigureAwait(false);
        repaired += await ApplyInChunksAsync(_set.Primary, toPrimary, $"repair:{replica.Name}", lease, "to-primary", replica.Name, cancellationToken).ConfigureAwait(false);
        return repaired;
    }

    private void ReportUnrepaired(ReplicationNode replica, RepairPlan plan)
    {
        var replicaAhead = plan.Unrepaired.Where(d => d.Type is DifferenceType.MissingOnPrimary or DifferenceType.OlderOnPrimary).ToList();
        foreach (var group in plan.Unrepaired.GroupBy(d => d.Type))
        {
            _metrics.DocumentsUnrepaired.Add(
                group.Count(),
                new KeyValuePair<string, object?>("replica", replica.Name),
                new KeyValuePair<string, object?>("difference", group.Key.ToString()));
        }

        if (replicaAhead.Count > 0)
        {
            var first = replicaAhead[0];
            LogReplicaAheadNotRepaired(replica.Name, replicaAhead.Count, first.Type.ToString(), first.Kind.ToString(), first.Id);
        }
    }

    private async Task<IReadOnlyList<ChangeRecord>> WithoutPrimaryCollisionsAsync(IReadOnlyList<ChangeRecord> candidates, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0)
        {
            return candidates;
        }

        var kept = new List<ChangeRecord>();
        var store = _set.Primary.Store;
        foreach (var c in candidates)
        {
            var holderId = c.Kind switch
            {
                DocumentKind.User => (await store.Users.FindByNameAsync(c.User!.UserName, cancellationToken).ConfigureAwait(false))?.Id,
                DocumentKind.Room => (await store.Rooms.FindByNameAsync(c.Room!.Name, cancellationToken).ConfigureAwait(false))?.Id,
                DocumentKind.Membership or DocumentKind.ReadMarker => null, // ids derived from (room, user): no other document can hold their slot
                DocumentKind.MessageUpdate => await SeqHolderAsync(store, c.Update!.Room, c.Update.Seq, cancellationToken).ConfigureAwait(false),
                _ => await SeqHolderAsync(store, c.Message!.Room, c.Message.Seq, cancellationToken).ConfigureAwait(false),
            };
            if (holderId is null || holderId == c.DocumentId)
            {
                kept.Add(c);
            }
            else
            {
                LogRepairSkipped(c.Kind.ToString(), c.DocumentId);
            }
        }

        return kept;
    }

    /// <summary>The id of the document (a message or an update event) holding <paramref name="seq"/> in the room's event sequence on <paramref name="store"/>.</summary>
    private static async Task<Guid?> SeqHolderAsync(IChatStore store, string room, long seq, CancellationToken cancellationToken)
    {
        var events = await store.Messages.ReadEventsAsync(room, seq - 1, seq, 1, cancellationToken).ConfigureAwait(false);
        return events.FirstOrDefault() switch
        {
            null => null,
            { Kind: MessageEventKind.Posted } e => e.Message.Id,
            var e => MessageUpdate.IdFor(room, e.Seq),
        };
    }

    private async Task<int> ApplyInChunksAsync(ReplicationNode target, IReadOnlyList<ChangeRecord> docs, string sourceId, ILease lease, string direction, string replicaName, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var chunk in docs.Chunk(Options.BatchSize))
        {
            await _leadership.RenewIfDueAsync(lease, cancellationToken).ConfigureAwait(false);
            var write = new ReplicationWrite(chunk, sourceId, lease.FencingToken, Checkpoint: null);
            var count = await target.ExecuteAsync(ct => target.Store.Replication.ApplyAsync(write, ct), Options.SyncOperationTimeout, cancellationToken).ConfigureAwait(false);
            total += count;
            _metrics.DocumentsRepaired.Add(count, new KeyValuePair<string, object?>("replica", replicaName), new KeyValuePair<string, object?>("direction", direction));
        }

        return total;
    }

    [LoggerMessage(EventId = 5020, EventName = "Compared", Level = LogLevel.Information, Message = "Replication {Mode} of replica {Replica}: {Documents} documents compared, {Differences} differences, {Repaired} documents written.")]
    private partial void LogCompared(string replica, string mode, long documents, int differences, int repaired);

    [LoggerMessage(EventId = 5021, EventName = "RepairSkipped", Level = LogLevel.Warning, Message = "Replication repair: replica-only {Kind} {Id} not copied to the primary: the primary holds another document with the same name or sequence number.")]
    private partial void LogRepairSkipped(string kind, Guid id);

    [LoggerMessage(EventId = 5022, EventName = "ReplicaAheadNotRepaired", Level = LogLevel.Warning, Message = "Replication repair of replica {Replica}: {Count} document(s) the replica holds newer or alone were not copied to the primary (ChitChat:Replication:RepairPrimary is off); the first is {Difference} {Kind} {Id}.")]
    private partial void LogReplicaAheadNotRepaired(string replica, int count, string difference, string kind, Guid id);
}
