using ChitChat.Leases;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;

namespace ChitChat.Replication;

/// <summary>
/// Leadership: the sync lease that makes this node the one active syncer, its renewal and its fencing token.
/// </summary>
/// <remarks>
/// Every write to a store (incremental sync and repair) carries the token of the lease held when it was planned. A node
/// that paused past its lease keeps its old token, so a store that has seen the new holder's higher token rejects it
/// (<see cref="FencingTokenRejectedException"/>); this type then drops the lease, and the writer stops at once. Not
/// thread-safe on its own: the manager runs one pass at a time.
/// </remarks>
internal sealed partial class SyncLeadership : IAsyncDisposable
{
    private readonly ILeaseProvider _leases;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SyncLeadership> _logger;
    private readonly string _ownerId;
    private ILease? _lease;
    private DateTimeOffset _renewedAt;

    public SyncLeadership(ReplicaSet set, ILeaseProvider leases, ILogger<SyncLeadership> logger)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(leases);
        ArgumentNullException.ThrowIfNull(logger);
        _leases = leases;
        _options = set.Options;
        _time = set.Time;
        _logger = logger;
        _ownerId = set.Options.NodeId ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    }

    /// <summary>Gets the lease held now, or <see langword="null"/>.</summary>
    public ILease? Current => _lease;

    /// <summary>Whether <paramref name="lease"/> is still the lease this node holds (not lost, not fenced off).</summary>
    public bool Holds(ILease lease) => ReferenceEquals(_lease, lease);

    /// <summary>Renews the lease this node holds, or tries to acquire it; <see langword="null"/> when another node holds it.</summary>
    public async Task<ILease?> EnsureAsync(CancellationToken cancellationToken)
    {
        if (_lease is { } held)
        {
            if (await held.TryRenewAsync(cancellationToken).ConfigureAwait(false))
            {
                _renewedAt = _time.GetUtcNow();
                return held;
            }

            LogLeaseLost(_options.LeaseName, held.FencingToken);
            _lease = null;
        }

        var lease = await _leases.TryAcquireAsync(_options.LeaseName, _ownerId, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        if (lease is not null)
        {
            _lease = lease;
            _renewedAt = _time.GetUtcNow();
            LogLeaseAcquired(_options.LeaseName, lease.FencingToken);
        }

        return lease;
    }

    /// <summary>Renews <paramref name="lease"/> when a third of its duration has passed; throws <see cref="LeaseLostException"/> when it is no longer held.</summary>
    public async Task RenewIfDueAsync(ILease lease, CancellationToken cancellationToken)
    {
        if (!Holds(lease))
        {
            throw new LeaseLostException($"lease '{_options.LeaseName}' lost");
        }

        if (_time.GetUtcNow() - _renewedAt < _options.LeaseDuration / 3)
        {
            return;
        }

        if (!await lease.TryRenewAsync(cancellationToken).ConfigureAwait(false))
        {
            LogLeaseLost(_options.LeaseName, lease.FencingToken);
            _lease = null;
            throw new LeaseLostException($"lease '{_options.LeaseName}' lost (token {lease.FencingToken})");
        }

        _renewedAt = _time.GetUtcNow();
    }

    /// <summary>A store rejected this node's fencing token: another node took over. Drops the lease (the caller stops writing).</summary>
    public void Fenced(string replica, FencingTokenRejectedException ex)
    {
        LogFenced(replica, ex.Offered, ex.Current);
        _lease = null;
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
    }

    [LoggerMessage(EventId = 5004, EventName = "LeaseAcquired", Level = LogLevel.Information, Message = "Replication: acquired lease {Lease} with fencing token {Token}; this node syncs.")]
    private partial void LogLeaseAcquired(string lease, long token);

    [LoggerMessage(EventId = 5005, EventName = "LeaseLost", Level = LogLevel.Warning, Message = "Replication: lost lease {Lease} (fencing token {Token}); stopping writes.")]
    private partial void LogLeaseLost(string lease, long token);

    [LoggerMessage(EventId = 5006, EventName = "Fenced", Level = LogLevel.Warning, Message = "Replication: replica {Replica} rejected fencing token {Offered} (already saw {Current}); another node took over.")]
    private partial void LogFenced(string replica, long offered, long current);

    [LoggerMessage(EventId = 5009, EventName = "LeaseReleaseFailed", Level = LogLevel.Warning, Message = "Replication: releasing the lease failed ({Error}); it expires on its own.")]
    private partial void LogLeaseReleaseFailed(string error);
}

/// <summary>The sync lease was lost between two writes of a pass.</summary>
/// <param name="message">What was lost.</param>
internal sealed class LeaseLostException(string message) : Exception(message);
