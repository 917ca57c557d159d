using ChitChat.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ChitChat.Replication;

/// <summary>
/// The entry points of replication (<see cref="IReplicationManager"/> and the hosted service's scheduled pass). Each one
/// takes the same guard, then delegates to one job: <see cref="SyncLeadership"/> (the lease), <see cref="IncrementalSync"/>
/// (checkpoint → change feed → fenced apply) and <see cref="AntiEntropy"/> (digest → difference → repair plan).
/// </summary>
/// <remarks>
/// The guard: a manager that was disposed throws <see cref="ObjectDisposedException"/>, and every pass (sync, repair,
/// verification, scheduled) waits for the one running on this node to finish, so a verification never compares a
/// replica in the middle of this node's own sync or repair, and two passes never share the lease state. Writing passes
/// also need the lease; a verification writes nothing and does not.
/// </remarks>
internal sealed partial class ReplicationManager : IReplicationManager, IAsyncDisposable
{
    private readonly ReplicaSet _set;
    private readonly SyncLeadership _leadership;
    private readonly IncrementalSync _sync;
    private readonly AntiEntropy _antiEntropy;
    private readonly ILogger<ReplicationManager> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _lastAntiEntropy;
    private int _waiting;
    private volatile bool _disposed;

    public ReplicationManager(ReplicaSet set, SyncLeadership leadership, IncrementalSync sync, AntiEntropy antiEntropy, ILogger<ReplicationManager> logger)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(leadership);
        ArgumentNullException.ThrowIfNull(sync);
        ArgumentNullException.ThrowIfNull(antiEntropy);
        ArgumentNullException.ThrowIfNull(logger);
        _set = set;
        _leadership = leadership;
        _sync = sync;
        _antiEntropy = antiEntropy;
        _logger = logger;
        _lastAntiEntropy = set.Time.GetUtcNow();
    }

    private ReplicationOptions Options => _set.Options;

    /// <summary>Gets how many passes wait for the guard right now (tests observe that a pass queued behind another).</summary>
    internal int PassesWaiting => Volatile.Read(ref _waiting);

    public IReadOnlyList<ReplicaStatus> GetStatus() => _set.Replicas.Select(r => r.Status).ToArray();

    public Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default) =>
        GuardedAsync(SyncCoreAsync, cancellationToken);

    /// <summary>One scheduled pass: incremental sync, then anti-entropy when it is due. Used by the hosted service.</summary>
    internal Task<SyncReport> RunScheduledPassAsync(CancellationToken cancellationToken) =>
        GuardedAsync(
            async ct =>
            {
                var report = await SyncCoreAsync(ct).ConfigureAwait(false);
                var now = _set.Time.GetUtcNow();
                if (report.Succeeded && Options.AntiEntropyInterval > TimeSpan.Zero && now - _lastAntiEntropy >= Options.AntiEntropyInterval)
                {
                    _lastAntiEntropy = now;
                    await RepairCoreAsync(ct).ConfigureAwait(false);
                }

                return report;
            },
            cancellationToken);

    public Task<VerifyReport> VerifyAsync(CancellationToken cancellationToken = default) =>
        GuardedAsync(ct => _antiEntropy.RunAsync(lease: null, ct), cancellationToken);

    public Task<VerifyReport> RepairAsync(CancellationToken cancellationToken = default) =>
        GuardedAsync(
            ct =>
            {
                _lastAntiEntropy = _set.Time.GetUtcNow();
                return RepairCoreAsync(ct);
            },
            cancellationToken);

    public async ValueTask DisposeAsync()
    {
        // The gate is not disposed: a pass still running releases it on its way out (a SemaphoreSlim whose wait handle
        // was never used holds nothing to free); new passes are refused by the guard.
        _disposed = true;
        await _leadership.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The guard every entry point takes: not disposed, and one pass at a time on this node.</summary>
    private async Task<T> GuardedAsync<T>(Func<CancellationToken, Task<T>> pass, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Interlocked.Increment(ref _waiting);
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return await pass(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SyncReport> SyncCoreAsync(CancellationToken cancellationToken)
    {
        using var activity = ChitChatDiagnostics.ActivitySource.StartActivity(ChitChatInstrumentNames.ReplicationSyncActivity);
        var lease = await _leadership.EnsureAsync(cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            LogNotLeader(Options.LeaseName);
            return new SyncReport(false, 0, []);
        }

        return await _sync.RunAsync(lease, cancellationToken).ConfigureAwait(false);
    }

    private async Task<VerifyReport> RepairCoreAsync(CancellationToken cancellationToken)
    {
        var lease = await _leadership.EnsureAsync(cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            LogNotLeader(Options.LeaseName);
            return new VerifyReport(_set.Replicas.Select(r => new ReplicaVerification(r.Name, false, 0, 0, [], 0, $"not repaired: another node holds lease '{Options.LeaseName}'")).ToArray());
        }

        return await _antiEntropy.RunAsync(lease, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 5003, EventName = "NotLeader", Level = LogLevel.Debug, Message = "Replication: another node holds lease {Lease}; not syncing.")]
    private partial void LogNotLeader(string lease);
}
