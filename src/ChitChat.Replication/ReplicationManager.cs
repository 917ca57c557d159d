using System.Diagnostics;
using System.Runtime.InteropServices;
using ChitChat.Diagnostics;
using ChitChat.Leases;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;

namespace ChitChat.Replication;

/// <summary>Incremental sync, anti-entropy and verification under the sync lease.</summary>
internal sealed partial class ReplicationManager : IReplicationManager, IAsyncDisposable
{
    private readonly ReplicaSet _set;
    private readonly ILeaseProvider _leases;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger<ReplicationManager> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _ownerId;
    private ILease? _lease;
    private DateTimeOffset _leaseRenewedAt;
    private DateTimeOffset _lastAntiEntropy;

    public ReplicationManager(ReplicaSet set, ILeaseProvider leases, ReplicationMetrics metrics, ILogger<ReplicationManager> logger)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(leases);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _set = set;
        _leases = leases;
        _metrics = metrics;
        _logger = logger;
        _ownerId = set.Options.NodeId ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
        _lastAntiEntropy = set.Time.GetUtcNow();
    }

    private ReplicationOptions Options => _set.Options;

    public IReadOnlyList<ReplicaStatus> GetStatus() => _set.Replicas.Select(r => r.Status).ToArray();

    public async Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SyncCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One scheduled pass: incremental sync, then anti-entropy when it is due. Used by the hosted service.</summary>
    internal async Task<SyncReport> RunScheduledPassAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var report = await SyncCoreAsync(cancellationToken).ConfigureAwait(false);
            var now = _set.Time.GetUtcNow();
            if (report.Succeeded && Options.AntiEntropyInterval > TimeSpan.Zero && now - _lastAntiEntropy >= Options.AntiEntropyInterval)
            {
                _lastAntiEntropy = now;
                await CompareAllAsync(repair: true, cancellationToken).ConfigureAwait(false);
            }

            return report;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<VerifyReport> VerifyAsync(CancellationToken cancellationToken = default) => CompareAllAsync(repair: false, cancellationToken);

    public async Task<VerifyReport> RepairAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _lastAntiEntropy = _set.Time.GetUtcNow();
            return await CompareAllAsync(repair: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_lease is { } lease)
        {
            _lease = null;
            try
            {
                await lease.ReleaseAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLeaseReleaseFailed(ex.GetType().Name);
            }
        }

        _gate.Dispose();
    }

    private async Task<SyncReport> SyncCoreAsync(CancellationToken cancellationToken)
    {
        using var activity = ChitChatDiagnostics.ActivitySource.StartActivity("chitchat.replication.sync");
        var lease = await EnsureLeaseAsync(cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            LogNotLeader(Options.LeaseName);
            return new SyncReport(false, 0, []);
        }

        var started = _set.Time.GetTimestamp();
        var results = new List<ReplicaSyncResult>(_set.Replicas.Count);
        foreach (var replica in _set.Replicas)
        {
            var result = await SyncReplicaAsync(replica, lease, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            if (_lease is null)
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
                await RenewIfDueAsync(lease, cancellationToken).ConfigureAwait(false);
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
            LogFenced(replica.Name, ex.Offered, ex.Current);
            _lease = null;
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

    private async Task<ILease?> EnsureLeaseAsync(CancellationToken cancellationToken)
    {
        if (_lease is { } held)
        {
            if (await held.TryRenewAsync(cancellationToken).ConfigureAwait(false))
            {
                _leaseRenewedAt = _set.Time.GetUtcNow();
                return held;
            }

            LogLeaseLost(Options.LeaseName, held.FencingToken);
            _lease = null;
        }

        var lease = await _leases.TryAcquireAsync(Options.LeaseName, _ownerId, Options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        if (lease is not null)
        {
            _lease = lease;
            _leaseRenewedAt = _set.Time.GetUtcNow();
            LogLeaseAcquired(Options.LeaseName, lease.FencingToken);
        }

        return lease;
    }

    private async Task RenewIfDueAsync(ILease lease, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_lease, lease))
        {
            throw new LeaseLostException($"lease '{Options.LeaseName}' lost");
        }

        if (_set.Time.GetUtcNow() - _leaseRenewedAt < Options.LeaseDuration / 3)
        {
            return;
        }

        if (!await lease.TryRenewAsync(cancellationToken).ConfigureAwait(false))
        {
            LogLeaseLost(Options.LeaseName, lease.FencingToken);
            _lease = null;
            throw new LeaseLostException($"lease '{Options.LeaseName}' lost (token {lease.FencingToken})");
        }

        _leaseRenewedAt = _set.Time.GetUtcNow();
    }

    // ---------------------------------------------------------------- anti-entropy

    private readonly record struct BucketKey(DocumentKind Kind, string Room, long Bucket);

    private record struct Digest(ulong Sum, long Count);

    private async Task<VerifyReport> CompareAllAsync(bool repair, CancellationToken cancellationToken)
    {
        using var activity = ChitChatDiagnostics.ActivitySource.StartActivity(repair ? "chitchat.replication.repair" : "chitchat.replication.verify");
        ILease? lease = null;
        if (repair)
        {
            lease = await EnsureLeaseAsync(cancellationToken).ConfigureAwait(false);
            if (lease is null)
            {
                return new VerifyReport(_set.Replicas.Select(r => new ReplicaVerification(r.Name, false, 0, 0, [], 0, $"not repaired: another node holds lease '{Options.LeaseName}'")).ToArray());
            }
        }

        Dictionary<BucketKey, Digest> primaryDigest;
        long primaryCount;
        try
        {
            await _set.Primary.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            (primaryDigest, primaryCount) = await DigestAsync(_set.Primary.Store, cancellationToken).ConfigureAwait(false);
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
                var result = await CompareAsync(replica, primaryDigest, primaryCount, lease, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                LogCompared(replica.Name, repair ? "repair" : "verify", result.DocumentsCompared, result.TotalDifferences, result.Repaired);
            }
            catch (FencingTokenRejectedException ex)
            {
                LogFenced(replica.Name, ex.Offered, ex.Current);
                _lease = null;
                results.Add(new ReplicaVerification(replica.Name, false, primaryCount, 0, [], 0, $"fenced: {ex.Message}"));
                break;
            }
            catch (Exception ex) when (ReplicationNode.IsStoreFailure(ex, cancellationToken))
            {
                results.Add(new ReplicaVerification(replica.Name, false, primaryCount, 0, [], 0, $"unreachable: {ex.Message}"));
            }
        }

        return new VerifyReport(results);
    }

    private async Task<ReplicaVerification> CompareAsync(ReplicationNode replica, Dictionary<BucketKey, Digest> primaryDigest, long primaryCount, ILease? lease, CancellationToken cancellationToken)
    {
        await replica.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var (replicaDigest, _) = await DigestAsync(replica.Store, cancellationToken).ConfigureAwait(false);
        var differing = new HashSet<BucketKey>(primaryDigest.Keys.Concat(replicaDigest.Keys)
            .Where(k => primaryDigest.GetValueOrDefault(k) != replicaDigest.GetValueOrDefault(k)));
        if (differing.Count == 0)
        {
            return new ReplicaVerification(replica.Name, true, primaryCount, 0, [], 0, null);
        }

        var onPrimary = await CollectAsync(_set.Primary.Store, differing, cancellationToken).ConfigureAwait(false);
        var onReplica = await CollectAsync(replica.Store, differing, cancellationToken).ConfigureAwait(false);
        var differences = new List<ReplicaDifference>();
        var toReplica = new List<ChangeRecord>();
        var toPrimary = new List<ChangeRecord>();
        foreach (var (key, p) in onPrimary)
        {
            if (!onReplica.TryGetValue(key, out var r))
            {
                differences.Add(Difference(p, DifferenceType.MissingOnReplica, p.DocumentVersion, null));
                toReplica.Add(p);
            }
            else if (p.DocumentVersion > r.DocumentVersion)
            {
                differences.Add(Difference(p, DifferenceType.OlderOnReplica, p.DocumentVersion, r.DocumentVersion));
                toReplica.Add(p);
            }
            else if (p.DocumentVersion < r.DocumentVersion)
            {
                differences.Add(Difference(r, DifferenceType.OlderOnPrimary, p.DocumentVersion, r.DocumentVersion));
                toPrimary.Add(r);
            }
            else if (DocumentHash(p) != DocumentHash(r))
            {
                differences.Add(Difference(p, DifferenceType.Conflict, p.DocumentVersion, r.DocumentVersion));
            }
        }

        foreach (var (key, r) in onReplica)
        {
            if (!onPrimary.ContainsKey(key))
            {
                differences.Add(Difference(r, DifferenceType.MissingOnPrimary, null, r.DocumentVersion));
                toPrimary.Add(r);
            }
        }

        var repaired = 0;
        if (lease is not null)
        {
            // Replica-only documents go to the primary unless they would take a slot (room + seq, user or room name) the primary already uses.
            toPrimary = await WithoutPrimaryCollisionsAsync(toPrimary, cancellationToken).ConfigureAwait(false);
            repaired += await ApplyInChunksAsync(replica, toReplica, Options.SourceId, lease, "to-replica", cancellationToken).ConfigureAwait(false);
            repaired += await ApplyInChunksAsync(_set.Primary, toPrimary, $"repair:{replica.Name}", lease, "to-primary", cancellationToken, replica.Name).ConfigureAwait(false);
        }

        var ordered = differences.OrderBy(d => d.Kind).ThenBy(d => d.Room, StringComparer.Ordinal).ThenBy(d => d.Seq).ThenBy(d => d.Id).ToList();
        return new ReplicaVerification(replica.Name, differences.Count == 0, primaryCount, differences.Count, ordered.Take(Options.MaxReportedDifferences).ToArray(), repaired, null);

        static ReplicaDifference Difference(ChangeRecord c, DifferenceType type, long? pv, long? rv) =>
            new(c.Kind, c.DocumentId, type, pv, rv, c.Message?.Room, c.Message?.Seq);
    }

    private async Task<List<ChangeRecord>> WithoutPrimaryCollisionsAsync(List<ChangeRecord> candidates, CancellationToken cancellationToken)
    {
        if (candidates.Count == 0)
        {
            return candidates;
        }

        var kept = new List<ChangeRecord>();
        foreach (var c in candidates)
        {
            var store = _set.Primary.Store;
            var holderId = c.Kind switch
            {
                DocumentKind.User => (await store.Users.FindByNameAsync(c.User!.UserName, cancellationToken).ConfigureAwait(false))?.Id,
                DocumentKind.Room => (await store.Rooms.FindByNameAsync(c.Room!.Name, cancellationToken).ConfigureAwait(false))?.Id,
                _ => (await store.Messages.QueryAsync(c.Message!.Room, new MessageQuery(c.Message.Seq - 1, c.Message.Seq + 1, 1), cancellationToken).ConfigureAwait(false)).FirstOrDefault()?.Id,
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

    private async Task<int> ApplyInChunksAsync(ReplicationNode target, List<ChangeRecord> docs, string sourceId, ILease lease, string direction, CancellationToken cancellationToken, string? replicaName = null)
    {
        var total = 0;
        foreach (var chunk in docs.Chunk(Options.BatchSize))
        {
            await RenewIfDueAsync(lease, cancellationToken).ConfigureAwait(false);
            var write = new ReplicationWrite(chunk, sourceId, lease.FencingToken, Checkpoint: null);
            var count = await target.ExecuteAsync(ct => target.Store.Replication.ApplyAsync(write, ct), Options.SyncOperationTimeout, cancellationToken).ConfigureAwait(false);
            total += count;
            _metrics.DocumentsRepaired.Add(count, new KeyValuePair<string, object?>("replica", replicaName ?? target.Name), new KeyValuePair<string, object?>("direction", direction));
        }

        return total;
    }

    private async Task<(Dictionary<BucketKey, Digest> Digest, long Count)> DigestAsync(IChatStore store, CancellationToken cancellationToken)
    {
        var digest = new Dictionary<BucketKey, Digest>();
        long count = 0;
        foreach (var kind in (DocumentKind[])[DocumentKind.User, DocumentKind.Room, DocumentKind.Message])
        {
            await foreach (var change in store.Replication.ScanAsync(kind, cancellationToken).ConfigureAwait(false))
            {
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(digest, Bucket(change), out _);
                slot.Sum = unchecked(slot.Sum + DocumentHash(change));
                slot.Count++;
                count++;
            }
        }

        return (digest, count);
    }

    private async Task<Dictionary<(DocumentKind, Guid), ChangeRecord>> CollectAsync(IChatStore store, HashSet<BucketKey> buckets, CancellationToken cancellationToken)
    {
        var docs = new Dictionary<(DocumentKind, Guid), ChangeRecord>();
        foreach (var kind in buckets.Select(b => b.Kind).Distinct())
        {
            await foreach (var change in store.Replication.ScanAsync(kind, cancellationToken).ConfigureAwait(false))
            {
                if (buckets.Contains(Bucket(change)))
                {
                    docs[(change.Kind, change.DocumentId)] = change;
                }
            }
        }

        return docs;
    }

    private BucketKey Bucket(ChangeRecord change) => change.Kind == DocumentKind.Message
        ? new BucketKey(DocumentKind.Message, change.Message!.Room, (change.Message.Seq - 1) / Options.AntiEntropyBucketSize)
        : new BucketKey(change.Kind, string.Empty, (long)(Mix(IdBits(change.DocumentId).Low) & 0xF));

    /// <summary>A deterministic 64-bit hash of (id, version) and, for messages, (room, seq); summed per bucket so the order does not matter.</summary>
    private static ulong DocumentHash(ChangeRecord change)
    {
        var (high, low) = IdBits(change.DocumentId);
        var h = Mix(high ^ Mix(low ^ Mix((ulong)change.DocumentVersion)));
        if (change.Message is { } m)
        {
            h = Mix(h ^ (ulong)m.Seq);
            foreach (var c in m.Room)
            {
                h = Mix(h ^ c);
            }
        }

        return h;
    }

    private static (ulong High, ulong Low) IdBits(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return (BitConverter.ToUInt64(bytes[..8]), BitConverter.ToUInt64(bytes[8..]));
    }

    private static ulong Mix(ulong x)
    {
        // splitmix64 finalizer
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    [LoggerMessage(EventId = 5001, EventName = "SyncPass", Level = LogLevel.Information, Message = "Replication pass: {Replicas} replica(s), {Read} changes read, {Applied} documents applied in {Batches} batches, {Failed} replica(s) failed, {ElapsedMs:0} ms.")]
    private partial void LogPass(int replicas, int read, long applied, int batches, int failed, double elapsedMs);

    [LoggerMessage(EventId = 5002, EventName = "SyncPassIdle", Level = LogLevel.Debug, Message = "Replication pass: {Replicas} replica(s) up to date, {ElapsedMs:0} ms.")]
    private partial void LogIdlePass(int replicas, double elapsedMs);

    [LoggerMessage(EventId = 5003, EventName = "NotLeader", Level = LogLevel.Debug, Message = "Replication: another node holds lease {Lease}; not syncing.")]
    private partial void LogNotLeader(string lease);

    [LoggerMessage(EventId = 5004, EventName = "LeaseAcquired", Level = LogLevel.Information, Message = "Replication: acquired lease {Lease} with fencing token {Token}; this node syncs.")]
    private partial void LogLeaseAcquired(string lease, long token);

    [LoggerMessage(EventId = 5005, EventName = "LeaseLost", Level = LogLevel.Warning, Message = "Replication: lost lease {Lease} (fencing token {Token}); stopping writes.")]
    private partial void LogLeaseLost(string lease, long token);

    [LoggerMessage(EventId = 5006, EventName = "Fenced", Level = LogLevel.Warning, Message = "Replication: replica {Replica} rejected fencing token {Offered} (already saw {Current}); another node took over.")]
    private partial void LogFenced(string replica, long offered, long current);

    [LoggerMessage(EventId = 5007, EventName = "SyncFailed", Level = LogLevel.Warning, Message = "Replication: sync of replica {Replica} stopped at position {Position}: {Reason}")]
    private partial void LogSyncFailed(string replica, long position, string reason);

    [LoggerMessage(EventId = 5008, EventName = "CheckpointAhead", Level = LogLevel.Warning, Message = "Replication: replica {Replica} has checkpoint {Checkpoint} beyond the primary head {Head} (primary replaced?); resyncing from the beginning.")]
    private partial void LogCheckpointAhead(string replica, long checkpoint, long head);

    [LoggerMessage(EventId = 5020, EventName = "Compared", Level = LogLevel.Information, Message = "Replication {Mode} of replica {Replica}: {Documents} documents compared, {Differences} differences, {Repaired} documents written.")]
    private partial void LogCompared(string replica, string mode, long documents, int differences, int repaired);

    [LoggerMessage(EventId = 5021, EventName = "RepairSkipped", Level = LogLevel.Warning, Message = "Replication repair: replica-only {Kind} {Id} not copied to the primary: the primary holds another document with the same name or sequence number.")]
    private partial void LogRepairSkipped(string kind, Guid id);

    [LoggerMessage(EventId = 5009, EventName = "LeaseReleaseFailed", Level = LogLevel.Warning, Message = "Replication: releasing the lease failed ({Error}); it expires on its own.")]
    private partial void LogLeaseReleaseFailed(string error);

    private sealed class LeaseLostException(string message) : Exception(message);
}
