using System.Collections.Concurrent;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Replication;

/// <summary>The primary and the replicas of one deployment, their observed state and the read-your-writes floors.</summary>
internal sealed partial class ReplicaSet : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (long Position, DateTimeOffset At)> _writeFloors = new(StringComparer.Ordinal);
    private readonly ILogger<ReplicaSet> _logger;
    private volatile bool _primaryReachable = true;
    private DateTimeOffset _lastPrune;
    private long _lastKnownHead;

    public ReplicaSet(IServiceProvider services, IOptions<ReplicationOptions> options, TimeProvider time, ILogger<ReplicaSet> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        if (!Options.Enabled)
        {
            throw new InvalidOperationException($"{ReplicationOptions.SectionName}:Enabled is false: replication is disabled, so there is no primary and no replica to sync, verify or repair.");
        }

        Time = time;
        _logger = logger;
        var o = Options;
        Primary = o.PrimaryInstance is { } p
            ? new ReplicationNode("primary", true, p, ownsStore: false, o, time)
            : new ReplicationNode("primary", true, ChatStoreFactories.Create(services, "primary", o.Primary!), ownsStore: true, o, time);
        var replicas = new List<ReplicationNode>();
        foreach (var (name, store) in o.ReplicaInstances.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            replicas.Add(new ReplicationNode(name, false, store, ownsStore: false, o, time));
        }

        foreach (var (name, settings) in o.Replicas.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!o.ReplicaInstances.ContainsKey(name))
            {
                replicas.Add(new ReplicationNode(name, false, ChatStoreFactories.Create(services, name, settings), ownsStore: true, o, time));
            }
        }

        Replicas = replicas;
    }

    public ReplicationOptions Options { get; }

    public TimeProvider Time { get; }

    public ReplicationNode Primary { get; }

    public IReadOnlyList<ReplicationNode> Replicas { get; }

    /// <summary>Gets a value indicating whether the primary answered its last call or probe and its circuit is not open.</summary>
    public bool PrimaryReachable => _primaryReachable && Primary.CircuitAllowsCalls;

    public void ReportPrimary(bool reachable) => _primaryReachable = reachable;

    /// <summary>Records that this router wrote <paramref name="keys"/> up to primary position <paramref name="position"/>.</summary>
    public void RecordWrite(long position, params ReadOnlySpan<string> keys)
    {
        if (position != long.MaxValue)
        {
            NoteHead(position);
        }

        var now = Time.GetUtcNow();
        foreach (var key in keys)
        {
            _writeFloors.AddOrUpdate(key, (position, now), (_, old) => (Math.Max(old.Position, position), now));
        }

        if (now - _lastPrune > Options.MaxStaleness)
        {
            _lastPrune = now;
            foreach (var (key, floor) in _writeFloors)
            {
                if (now - floor.At > Options.MaxStaleness)
                {
                    _writeFloors.TryRemove(new KeyValuePair<string, (long, DateTimeOffset)>(key, floor));
                }
            }
        }
    }

    /// <summary>Gets the primary position a replica must have applied to serve reads of <paramref name="key"/> (0 when none).</summary>
    public long ReadFloor(string key)
    {
        if (_writeFloors.TryGetValue(key, out var floor) && Time.GetUtcNow() - floor.At <= Options.MaxStaleness)
        {
            return floor.Position;
        }

        return 0;
    }

    /// <summary>Whether a replica may serve a read of <paramref name="key"/> now (reachable, initialized, fresh enough, has the caller's writes).</summary>
    public bool IsEligible(ReplicationNode replica, string key)
    {
        var status = replica.Status;
        if (!status.Reachable || !replica.IsInitialized || !replica.CircuitAllowsCalls || status.FreshAsOf is not { } fresh)
        {
            return false;
        }

        if (Time.GetUtcNow() - fresh > Options.MaxStaleness)
        {
            return false;
        }

        return status.AppliedPosition >= ReadFloor(key);
    }

    /// <summary>Probes the primary and every replica and publishes their state (lag, freshness, reachability).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        long head;
        DateTimeOffset observedAt = Time.GetUtcNow();
        try
        {
            head = await Primary.ExecuteAsync(ct => Primary.Store.Replication.GetHeadPositionAsync(ct), null, cancellationToken).ConfigureAwait(false);
            ReportPrimary(true);
            NoteHead(head);
        }
        catch (ChatStoreUnavailableException ex)
        {
            if (PrimaryReachable)
            {
                LogPrimaryUnreachable(ex.Message);
            }

            ReportPrimary(false);
            foreach (var replica in Replicas)
            {
                await ProbeReplicaAsync(replica, null, observedAt, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        foreach (var replica in Replicas)
        {
            await ProbeReplicaAsync(replica, head, observedAt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Observes one replica: its checkpoint, and when the primary head is known, its lag.</summary>
    public async Task ProbeReplicaAsync(ReplicationNode replica, long? primaryHead, DateTimeOffset observedAt, CancellationToken cancellationToken)
    {
        try
        {
            await replica.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            var checkpoint = await replica.ExecuteAsync(ct => replica.Store.Replication.GetCheckpointAsync(Options.SourceId, ct), null, cancellationToken).ConfigureAwait(false);
            var applied = checkpoint?.Position ?? 0;
            if (primaryHead is not { } head)
            {
                // Primary unreachable: this node cannot have written anything since it last saw the primary's head. A replica
                // holding that head has every write this node could see, so it stays fresh while the outage lasts; one that
                // is behind keeps its old freshness (and goes stale).
                var caughtUp = applied >= Interlocked.Read(ref _lastKnownHead);
                replica.Update(s => s with { Reachable = true, AppliedPosition = applied, ObservedAt = observedAt, FreshAsOf = caughtUp ? observedAt : s.FreshAsOf });
                return;
            }

            await PublishLagAsync(replica, applied, head, observedAt, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatStoreUnavailableException ex)
        {
            if (replica.Status.Reachable)
            {
                LogReplicaUnreachable(replica.Name, ex.Message);
            }

            replica.Update(s => s with { Reachable = false, ObservedAt = observedAt });
        }
    }

    /// <summary>Publishes a replica's lag given its applied position and the primary head read at <paramref name="observedAt"/> or later.</summary>
    public async Task PublishLagAsync(ReplicationNode replica, long applied, long head, DateTimeOffset observedAt, CancellationToken cancellationToken)
    {
        NoteHead(head);
        if (applied >= head)
        {
            replica.Update(s => s with { Reachable = true, AppliedPosition = applied, LagDocuments = 0, Lag = TimeSpan.Zero, FreshAsOf = observedAt, ObservedAt = observedAt });
            return;
        }

        var next = await Primary.ExecuteAsync(ct => Primary.Store.Replication.ReadChangesAsync(applied, 1, ct), null, cancellationToken).ConfigureAwait(false);
        var oldestMissing = next.Changes.Count > 0 ? next.Changes[0].ChangedAt : observedAt;
        var fresh = oldestMissing < observedAt ? oldestMissing : observedAt;
        replica.Update(s => s with
        {
            Reachable = true,
            AppliedPosition = applied,
            LagDocuments = head - applied,
            Lag = observedAt - fresh,
            FreshAsOf = fresh,
            ObservedAt = observedAt,
        });
    }

    private void NoteHead(long head)
    {
        long current;
        while (head > (current = Interlocked.Read(ref _lastKnownHead)) && Interlocked.CompareExchange(ref _lastKnownHead, head, current) != current)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Replicas.Prepend(Primary).Where(n => n.OwnsStore))
        {
            if (node.Store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().ConfigureAwait(false);
            }
            else if (node.Store is IDisposable d)
            {
                d.Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 5010, EventName = "PrimaryUnreachable", Level = LogLevel.Warning, Message = "Replication: the primary store is unreachable: {Reason}")]
    private partial void LogPrimaryUnreachable(string reason);

    [LoggerMessage(EventId = 5011, EventName = "ReplicaUnreachable", Level = LogLevel.Warning, Message = "Replication: replica {Replica} is unreachable: {Reason}")]
    private partial void LogReplicaUnreachable(string replica, string reason);
}
