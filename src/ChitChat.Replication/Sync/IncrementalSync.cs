using ChitChat.Leases;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;

namespace ChitChat.Replication;

/// <summary>
/// Incremental sync: for each replica, its checkpoint, then batches of the primary's change feed
/// (<see cref="IReplicationStore.ReadChangesAsync"/>) applied with the lease's fencing token and the new checkpoint in one
/// <see cref="IReplicationStore.ApplyAsync"/>, until the replica has the primary head.
/// </summary>
/// <remarks>
/// Documents and checkpoint are committed together and upserts are idempotent (higher version wins), so a pass killed
/// anywhere resumes from the last committed batch with no duplicate and no hole. The lease is renewed between batches; a
/// lost or fenced lease ends the pass before the next write.
/// </remarks>
internal sealed partial class IncrementalSync
{
    private readonly ReplicaSet _set;
    private readonly SyncLeadership _leadership;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger<IncrementalSync> _logger;

    public IncrementalSync(ReplicaSet set, SyncLeadership leadership, ReplicationMetrics metrics, ILogger<IncrementalSync> logger)
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

    /// <summary>Syncs every replica in turn under <paramref name="lease"/>; stops at the first replica that fences it off.</summary>
    public async Task<SyncReport> RunAsync(ILease lease, CancellationToken cancellationToken)
    {
        var started = _set.Time.GetTimestamp();
        var results = new List<ReplicaSyncResult>(_set.Replicas.Count);
        foreach (var replica in _set.Replicas)
        {
            results.Add(await SyncReplicaAsync(replica, lease, cancellationToken).ConfigureAwait(false));
            if (!_leadership.Holds(lease))
            {
                break; // fenced or lost: stop writing at once
            }
        }

        var report = new SyncReport(true, lease.FencingToken, results);
        var elapsed = _set.Time.GetElapsedTime(started).TotalMilliseconds;
        var read = results.Sum(r => r.Read);
        var failed = results.Count(r => r.Error is not null);
        if (read > 0 || failed > 0)
        {
            LogPass(results.Count, read, report.DocumentsApplied, results.Sum(r => r.Batches), failed, elapsed);
        }
        else
        {
            LogIdlePass(results.Count, elapsed);
        }

        return report;
    }

    private async Task<ReplicaSyncResult> SyncReplicaAsync(ReplicationNode replica, ILease lease, CancellationToken cancellationToken)
    {
        var primary = _set.Primary;
        long from = 0, position = 0;
        int read = 0, applied = 0, batches = 0;
        try
        {
            await replica.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            var checkpoint = await replica.ExecuteAsync(ct => replica.Store.Replication.GetCheckpointAsync(Options.SourceId, ct), null, cancellationToken).ConfigureAwait(false);
            from = position = checkpoint?.Position ?? 0;
            var head = await primary.ExecuteAsync(ct => primary.Store.Replication.GetHeadPositionAsync(ct), null, cancellationToken).ConfigureAwait(false);
            _set.ReportPrimary(true);
            if (position > head)
            {
                LogCheckpointAhead(replica.Name, position, head);
                from = position = 0;
            }

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await _leadership.RenewIfDueAsync(lease, cancellationToken).ConfigureAwait(false);
                var observedAt = _set.Time.GetUtcNow();
                var after = position;
                var batch = await primary.ExecuteAsync(ct => primary.Store.Replication.ReadChangesAsync(after, Options.BatchSize, ct), Options.SyncOperationTimeout, cancellationToken).ConfigureAwait(false);
                if (batch.Changes.Count == 0)
                {
                    await _set.PublishLagAsync(replica, position, batch.HeadPosition, observedAt, cancellationToken).ConfigureAwait(false);
                    break;
                }

                var next = batch.NextCheckpoint(position);
                var write = new ReplicationWrite(batch.Changes, Options.SourceId, lease.FencingToken, next);
                var count = await replica.ExecuteAsync(ct => replica.Store.Replication.ApplyAsync(write, ct), Options.SyncOperationTimeout, cancellationToken).ConfigureAwait(false);
                position = next;
                read += batch.Changes.Count;
                applied += count;
                batches++;
                _metrics.DocumentsSynced.Add(count, new KeyValuePair<string, object?>("replica", replica.Name));
                await _set.PublishLagAsync(replica, position, batch.HeadPosition, observedAt, cancellationToken).ConfigureAwait(false);
                if (batch.Changes.Count < Options.BatchSize && position >= batch.HeadPosition)
                {
                    break;
                }
            }

            var doneAt = _set.Time.GetUtcNow();
            replica.Update(s => s with { LastSuccessfulSyncAt = doneAt });
            return new ReplicaSyncResult(replica.Name, from, position, read, applied, batches, null);
        }
        catch (FencingTokenRejectedException ex)
        {
            _leadership.Fenced(replica.Name, ex);
            return new ReplicaSyncResult(replica.Name, from, position, read, applied, batches, $"fenced: {ex.Message}");
        }
        catch (LeaseLostException ex)
        {
            return new ReplicaSyncResult(replica.Name, from, position, read, applied, batches, ex.Message);
        }
        catch (ChatStoreUnavailableException ex)
        {
            LogSyncFailed(replica.Name, position, ex.Message);
            return new ReplicaSyncResult(replica.Name, from, position, read, applied, batches, ex.Message);
        }
    }

    [LoggerMessage(EventId = 5001, EventName = "SyncPass", Level = LogLevel.Information, Message = "Replication pass: {Replicas} replica(s), {Read} changes read, {Applied} documents applied in {Batches} batches, {Failed} replica(s) failed, {ElapsedMs:0} ms.")]
    private partial void LogPass(int replicas, int read, long applied, int batches, int failed, double elapsedMs);

    [LoggerMessage(EventId = 5002, EventName = "SyncPassIdle", Level = LogLevel.Debug, Message = "Replication pass: {Replicas} replica(s) up to date, {ElapsedMs:0} ms.")]
    private partial void LogIdlePass(int replicas, double elapsedMs);

    [LoggerMessage(EventId = 5007, EventName = "SyncFailed", Level = LogLevel.Warning, Message = "Replication: sync of replica {Replica} stopped at position {Position}: {Reason}")]
    private partial void LogSyncFailed(string replica, long position, string reason);

    [LoggerMessage(EventId = 5008, EventName = "CheckpointAhead", Level = LogLevel.Warning, Message = "Replication: replica {Replica} has checkpoint {Checkpoint} beyond the primary head {Head} (primary replaced?); resyncing from the beginning.")]
    private partial void LogCheckpointAhead(string replica, long checkpoint, long head);
}
