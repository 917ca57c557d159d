using System.Collections.Concurrent;

namespace ChitChat.RateLimiting;

/// <summary>
/// Rate limits within one process (the default <see cref="IChatRateLimiter"/>): an exact sliding-window log per policy and
/// key, holding the times of the permits granted in the last window (at most <see cref="RateLimitPolicy.PermitLimit"/> of
/// them). Time comes from the <see cref="TimeProvider"/>. Memory stays bounded by the active keys: about once a minute, keys
/// whose every permit has left its window are dropped.
/// </summary>
/// <remarks>
/// Per process means per node: behind a load balancer with N nodes a key gets up to N times the limit. Use the Redis limiter
/// of <c>ChitChat.Redis</c> (registered by <c>UseRedisTransport</c>) for limits that hold across the cluster; it falls back
/// to this one while Redis is unreachable.
/// </remarks>
public sealed class InMemoryChatRateLimiter : IChatRateLimiter
{
    /// <summary>How often idle keys are dropped.</summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string Policy, string Key), Partition> _partitions = new();
    private readonly TimeProvider _time;
    private readonly long _sweepInterval;
    private long _nextSweep;
    private int _sweeping;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="timeProvider">The clock.</param>
    public InMemoryChatRateLimiter(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _sweepInterval = ToTimestamp(SweepInterval);
        _nextSweep = _time.GetTimestamp() + _sweepInterval;
    }

    /// <summary>Gets how many keys hold state (for tests).</summary>
    internal int PartitionCount => _partitions.Count;

    /// <inheritdoc />
    public ValueTask<RateLimitDecision> AcquireAsync(RateLimitPolicy policy, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Acquire(policy, key));
    }

    private RateLimitDecision Acquire(RateLimitPolicy policy, string key)
    {
        SweepIfDue(_time.GetTimestamp());
        var window = Math.Max(1, ToTimestamp(policy.Window));
        while (true)
        {
            var partition = _partitions.GetOrAdd((policy.Name, key), static _ => new Partition());
            lock (partition.Gate)
            {
                if (partition.Removed)
                {
                    continue; // dropped by a sweep between the lookup and the lock: take the fresh one
                }

                // Read under the lock, so that each key's log stays in time order.
                var now = _time.GetTimestamp();
                var granted = partition.Granted;
                while (granted.Count > 0 && (granted.Peek() <= now - window || granted.Count > policy.PermitLimit))
                {
                    // Out of the window, or beyond a limit that was lowered (the newest ones decide the retry time).
                    granted.Dequeue();
                }

                if (granted.Count < policy.PermitLimit)
                {
                    granted.Enqueue(now);
                    partition.ExpiresAt = now + window;
                    return RateLimitDecision.Allowed;
                }

                var retryAfter = _time.GetElapsedTime(now, granted.Peek() + window);
                return RateLimitDecision.Refused(TimeSpan.FromTicks(Math.Clamp(retryAfter.Ticks, 1, policy.Window.Ticks)));
            }
        }
    }

    private void SweepIfDue(long now)
    {
        if (now < Volatile.Read(ref _nextSweep) || Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _nextSweep, now + _sweepInterval);
            foreach (var (key, partition) in _partitions)
            {
                lock (partition.Gate)
                {
                    if (partition.ExpiresAt <= now)
                    {
                        // The newest permit left its window: nothing of this key counts any more.
                        partition.Removed = true;
                        _partitions.TryRemove(new KeyValuePair<(string, string), Partition>(key, partition));
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private long ToTimestamp(TimeSpan span) => (long)Math.Ceiling(span.TotalSeconds * _time.TimestampFrequency);

    private sealed class Partition
    {
        public Lock Gate { get; } = new();

        public Queue<long> Granted { get; } = new();

        /// <summary>When the newest permit leaves its window, in <see cref="TimeProvider"/> timestamps.</summary>
        public long ExpiresAt { get; set; }

        public bool Removed { get; set; }
    }
}
