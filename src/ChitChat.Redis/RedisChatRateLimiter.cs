using ChitChat.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChitChat.Redis;

/// <summary>
/// Rate limits that hold across every node: a sliding-window log per policy and key in the sorted set
/// <c>{KeyPrefix}rl:{policy}:{key}</c> (one member per granted permit, scored by its time), checked and updated by one Lua
/// script, so concurrent requests on any number of nodes never grant more than the limit. Times come from Redis's
/// <c>TIME</c>, so the nodes' clocks do not matter; each key expires one window after its newest permit.
/// </summary>
/// <remarks>
/// While Redis is unreachable (or answers with an error) the limiter falls back to an <see cref="InMemoryChatRateLimiter"/>:
/// each node still limits, on its own counts, and a warning is logged once per outage. It never throws for Redis; the
/// fallback's counts are not merged back when Redis returns (they are short-lived by nature).
/// </remarks>
internal sealed partial class RedisChatRateLimiter : IChatRateLimiter
{
    // KEYS: the log. ARGV: permit limit, window ms, unique member. Returns {1, 0} when granted, {0, retry-after ms} when not.
    // Milliseconds keep every number below 10^14, exact through Lua's number-to-string conversion (%.14g).
    private const string AcquireScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        if count > limit then
          redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - limit - 1)
          count = limit
        end
        if count < limit then
          redis.call('ZADD', KEYS[1], now, ARGV[3])
          redis.call('PEXPIRE', KEYS[1], window)
          return {1, 0}
        end
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        local retry = tonumber(oldest[2]) + window - now
        if retry < 1 then retry = 1 end
        return {0, retry}
        """;

    private readonly RedisConnectionProvider _connection;
    private readonly InMemoryChatRateLimiter _fallback;
    private readonly ILogger<RedisChatRateLimiter> _logger;
    private readonly string _keyPrefix;
    private int _outage;

    public RedisChatRateLimiter(RedisConnectionProvider connection, IOptions<RedisChitChatOptions> options, TimeProvider timeProvider, ILogger<RedisChatRateLimiter> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _fallback = new InMemoryChatRateLimiter(timeProvider);
        _logger = logger;
        _keyPrefix = options.Value.KeyPrefix + "rl:";
    }

    /// <summary>Gets a value indicating whether the last call fell back to local counting.</summary>
    internal bool IsFallingBack => Volatile.Read(ref _outage) != 0;

    public async ValueTask<RateLimitDecision> AcquireAsync(RateLimitPolicy policy, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            var multiplexer = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
            if (multiplexer.IsConnected)
            {
                var windowMs = Math.Max(1, (long)Math.Ceiling(policy.Window.TotalMilliseconds));
                var result = await multiplexer.GetDatabase()
                    .ScriptEvaluateAsync(AcquireScript, [_keyPrefix + policy.Name + ":" + key], [policy.PermitLimit, windowMs, Guid.NewGuid().ToString("N")])
                    .WaitAsync(cancellationToken)
                    .ConfigureAwait(false);
                var values = (RedisResult[])result!;
                if (Interlocked.Exchange(ref _outage, 0) != 0)
                {
                    LogRestored();
                }

                if ((long)values[0] == 1)
                {
                    return RateLimitDecision.Allowed;
                }

                var retryAfter = TimeSpan.FromMilliseconds(Math.Max(1, (long)values[1]));
                return RateLimitDecision.Refused(retryAfter < policy.Window ? retryAfter : policy.Window);
            }

            Fallback(null);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Fallback(ex);
        }

        return await _fallback.AcquireAsync(policy, key, cancellationToken).ConfigureAwait(false);
    }

    private void Fallback(Exception? exception)
    {
        if (Interlocked.Exchange(ref _outage, 1) == 0)
        {
            LogFallingBack(exception);
        }
    }

    [LoggerMessage(EventId = 4301, EventName = "RedisRateLimiterFallingBack", Level = LogLevel.Warning, Message = "Redis is unreachable: rate limits count on this node only until it returns.")]
    private partial void LogFallingBack(Exception? exception);

    [LoggerMessage(EventId = 4302, EventName = "RedisRateLimiterRestored", Level = LogLevel.Information, Message = "Redis is reachable again: rate limits count across the cluster.")]
    private partial void LogRestored();
}
