namespace ChitChat.Leases;

/// <summary>Grants named, expiring, exclusive leases (leader election). <c>ChitChat.Redis</c> supplies a distributed one.</summary>
public interface ILeaseProvider
{
    /// <summary>Tries to acquire a lease. Succeeds when nobody holds it or the holder let it expire.</summary>
    /// <param name="name">The lease name.</param>
    /// <param name="ownerId">A unique id of the contender.</param>
    /// <param name="duration">How long the lease lasts without renewal.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The lease, or <see langword="null"/> when someone else holds it.</returns>
    ValueTask<ILease?> TryAcquireAsync(string name, string ownerId, TimeSpan duration, CancellationToken cancellationToken = default);
}

/// <summary>A held lease. Its <see cref="FencingToken"/> is larger than that of every earlier holder of the same name.</summary>
public interface ILease : IAsyncDisposable
{
    /// <summary>Gets the lease name.</summary>
    string Name { get; }

    /// <summary>Gets the holder's id.</summary>
    string OwnerId { get; }

    /// <summary>Gets the fencing token: strictly increasing with every new holder.</summary>
    long FencingToken { get; }

    /// <summary>Extends the lease by its duration.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when still held; <see langword="false"/> when it was lost (expired and taken).</returns>
    ValueTask<bool> TryRenewAsync(CancellationToken cancellationToken = default);

    /// <summary>Releases the lease if still held. Disposing does the same.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when released.</returns>
    ValueTask ReleaseAsync(CancellationToken cancellationToken = default);
}

/// <summary>Leases within one process.</summary>
/// <param name="timeProvider">The clock.</param>
public sealed class InMemoryLeaseProvider(TimeProvider timeProvider) : ILeaseProvider
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Owner, long Token, DateTimeOffset ExpiresAt)> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _tokens = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<ILease?> TryAcquireAsync(string name, string ownerId, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        lock (_gate)
        {
            var now = timeProvider.GetUtcNow();
            if (_leases.TryGetValue(name, out var current) && current.ExpiresAt > now && current.Owner != ownerId)
            {
                return ValueTask.FromResult<ILease?>(null);
            }

            var token = _tokens.GetValueOrDefault(name) + 1;
            _tokens[name] = token;
            _leases[name] = (ownerId, token, now + duration);
            return ValueTask.FromResult<ILease?>(new Lease(this, name, ownerId, token, duration));
        }
    }

    private bool Renew(Lease lease)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(lease.Name, out var current) && current.Token == lease.FencingToken && current.ExpiresAt > timeProvider.GetUtcNow())
            {
                _leases[lease.Name] = current with { ExpiresAt = timeProvider.GetUtcNow() + lease.Duration };
                return true;
            }

            return false;
        }
    }

    private void Release(Lease lease)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(lease.Name, out var current) && current.Token == lease.FencingToken)
            {
                _leases.Remove(lease.Name);
            }
        }
    }

    private sealed class Lease(InMemoryLeaseProvider owner, string name, string ownerId, long token, TimeSpan duration) : ILease
    {
        public string Name { get; } = name;

        public string OwnerId { get; } = ownerId;

        public long FencingToken { get; } = token;

        public TimeSpan Duration { get; } = duration;

        public ValueTask<bool> TryRenewAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(owner.Renew(this));

        public ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
        {
            owner.Release(this);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ReleaseAsync();
    }
}
