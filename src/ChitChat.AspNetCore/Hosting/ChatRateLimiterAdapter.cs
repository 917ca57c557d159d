using System.Threading.RateLimiting;
using ChitChat.RateLimiting;

namespace ChitChat.AspNetCore.Hosting;

/// <summary>
/// One partition (one key, e.g. a client address) of an ASP.NET Core rate limiting policy, answered by the app's
/// <see cref="IChatRateLimiter"/> (in memory, or on Redis so that the limit holds across nodes).
/// </summary>
/// <remarks>
/// <see cref="IChatRateLimiter"/> is asynchronous, so the synchronous <see cref="AttemptAcquireCore"/> never grants: ASP.NET
/// Core's <c>RateLimitingMiddleware</c> then calls <see cref="AcquireAsyncCore"/>, which asks the limiter. A refusal carries
/// <see cref="MetadataName.RetryAfter"/>. Idle partitions report <see cref="IdleDuration"/>, so the partitioned limiter
/// drops them; the counts live in the <see cref="IChatRateLimiter"/>, not here.
/// </remarks>
internal sealed class ChatRateLimiterAdapter : RateLimiter
{
    private static readonly RateLimitLease NotAttempted = new Lease(false, null);
    private static readonly RateLimitLease Granted = new Lease(true, null);
    private readonly IChatRateLimiter _limiter;
    private readonly RateLimitPolicy _policy;
    private readonly string _key;
    private readonly TimeProvider _time;
    private long _lastUsed;
    private int _active;

    public ChatRateLimiterAdapter(IChatRateLimiter limiter, RateLimitPolicy policy, string key, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(time);
        _limiter = limiter;
        _policy = policy;
        _key = key;
        _time = time;
        _lastUsed = time.GetTimestamp();
    }

    public override TimeSpan? IdleDuration =>
        Volatile.Read(ref _active) > 0 ? null : _time.GetElapsedTime(Volatile.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => NotAttempted;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, 1);
        if (permitCount == 0)
        {
            return Granted;
        }

        Interlocked.Increment(ref _active);
        try
        {
            var decision = await _limiter.AcquireAsync(_policy, _key, cancellationToken).ConfigureAwait(false);
            return decision.IsAllowed ? Granted : new Lease(false, decision.RetryAfter);
        }
        finally
        {
            Volatile.Write(ref _lastUsed, _time.GetTimestamp());
            Interlocked.Decrement(ref _active);
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } delay && string.Equals(metadataName, MetadataName.RetryAfter.Name, StringComparison.Ordinal))
            {
                metadata = delay;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
