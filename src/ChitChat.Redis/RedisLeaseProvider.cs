using System.Globalization;
using ChitChat.Leases;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ChitChat.Contracts;

namespace ChitChat.Redis;

/// <summary>
/// Distributed leases on Redis. A lease is the key <c>{KeyPrefix}lease:{name}</c> set with <c>NX PX</c> to
/// <c>{fencingToken}|{ownerId}</c>; the fencing token comes from <c>INCR</c> on <c>{KeyPrefix}lease:{name}:fence</c>, so it is
/// strictly increasing per lease name (as long as Redis keeps its data: a restart without persistence resets it). Renewal and
/// release are Lua compare-and-set on the full value: only the current holder can renew or release.
/// </summary>
public sealed class RedisLeaseProvider : ILeaseProvider
{
    // KEYS: lease, fence. ARGV: ownerId, duration ms. Returns the new fencing token, or nil when someone else holds the lease.
    private const string AcquireScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local sep = string.find(current, '|', 1, true)
          if not sep or string.sub(current, sep + 1) ~= ARGV[1] then return false end
        end
        local token = redis.call('INCR', KEYS[2])
        local value = token .. '|' .. ARGV[1]
        if current then
          redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
        elseif not redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2]) then
          return false
        end
        return token
        """;

    // KEYS: lease. ARGV: value, duration ms.
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """;

    // KEYS: lease. ARGV: value.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private readonly RedisConnectionProvider _connection;
    private readonly string _keyPrefix;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="connection">The shared Redis connection.</param>
    /// <param name="options">The Redis options (for <see cref="RedisChitChatOptions.KeyPrefix"/>).</param>
    public RedisLeaseProvider(RedisConnectionProvider connection, IOptions<RedisChitChatOptions> options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        _connection = connection;
        _keyPrefix = options.Value.KeyPrefix + "lease:";
    }

    /// <inheritdoc />
    /// <exception cref="ChatException">Redis is unreachable (<see cref="ChatErrorCodes.Unavailable"/>).</exception>
    public async ValueTask<ILease?> TryAcquireAsync(string name, string ownerId, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.FromMilliseconds(1));
        var key = _keyPrefix + name;
        var durationMs = (long)Math.Ceiling(duration.TotalMilliseconds);
        var result = await EvaluateAsync(AcquireScript, [key, key + ":fence"], [ownerId, durationMs], cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return null;
        }

        var token = (long)result;
        return new Lease(this, key, name, ownerId, token, durationMs);
    }

    private async Task<RedisResult> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        try
        {
            var multiplexer = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
            return await multiplexer.GetDatabase().ScriptEvaluateAsync(script, keys, args).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or TimeoutException)
        {
            throw new ChatException(ChatErrorCodes.Unavailable, "Leases are unavailable: Redis cannot be reached.", retryAfter: TimeSpan.FromSeconds(5), innerException: ex);
        }
    }

    private sealed class Lease(RedisLeaseProvider provider, RedisKey key, string name, string ownerId, long token, long durationMs) : ILease
    {
        private readonly string _value = token.ToString(CultureInfo.InvariantCulture) + "|" + ownerId;

        public string Name { get; } = name;

        public string OwnerId { get; } = ownerId;

        public long FencingToken { get; } = token;

        public async ValueTask<bool> TryRenewAsync(CancellationToken cancellationToken = default)
        {
            var result = await provider.EvaluateAsync(RenewScript, [key], [_value, durationMs], cancellationToken).ConfigureAwait(false);
            return (long)result == 1;
        }

        public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default) =>
            await provider.EvaluateAsync(ReleaseScript, [key], [_value], cancellationToken).ConfigureAwait(false);

        public async ValueTask DisposeAsync()
        {
            try
            {
                await ReleaseAsync().ConfigureAwait(false);
            }
            catch (ChatException)
            {
                // Unreachable Redis: the lease expires by itself.
            }
        }
    }
}
