using System.Collections.Concurrent;
using ChitChat.Presence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ChitChat.Contracts;

namespace ChitChat.Redis;

/// <summary>
/// Presence across nodes. Per room, Redis holds a hash of connections (<c>{KeyPrefix}presence:{room}:conns</c>), a sorted set
/// of their expiry times (<c>...:exp</c>, scored by the Redis server clock) and a hash of connection counts per user
/// (<c>...:users</c>), changed only by Lua scripts so every step is atomic. The node that owns a connection refreshes its
/// expiry every <see cref="RedisChitChatOptions.PresenceHeartbeatInterval"/> (see <see cref="HeartbeatAsync"/>); the entries
/// of a crashed node are not refreshed and disappear within <see cref="RedisChitChatOptions.PresenceTimeout"/>, removed by
/// the next reader or writer of the room. No offline event is published for them; clients see them gone on the next
/// presence query.
/// </summary>
public sealed partial class RedisPresenceTracker : IPresenceTracker
{
    // Removes expired connections (and their user counts). Shared prologue of every script.
    private const string PurgeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
        for _, c in ipairs(expired) do
          local v = redis.call('HGET', KEYS[1], c)
          if v then
            redis.call('HDEL', KEYS[1], c)
            local u = string.sub(v, 1, 32)
            if redis.call('HINCRBY', KEYS[3], u, -1) <= 0 then redis.call('HDEL', KEYS[3], u) end
          end
          redis.call('ZREM', KEYS[2], c)
        end
        local function touch(ttl)
          for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
        end
        """;

    // KEYS: conns, exp, users. ARGV: connectionId, userId (32 hex), "userId|userName", timeout ms. Returns 1 when the user came online.
    private const string JoinScript = PurgeScript + """

        local timeout = tonumber(ARGV[4])
        redis.call('ZADD', KEYS[2], now + timeout, ARGV[1])
        local previous = redis.call('HGET', KEYS[1], ARGV[1])
        if previous then
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
          touch(timeout)
          return 0
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        local count = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
        touch(timeout)
        if count == 1 then return 1 end
        return 0
        """;

    // KEYS: conns, exp, users. ARGV: connectionId. Returns 1 when the connection's user has no connection left.
    private const string LeaveScript = """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        local result = 0
        if v then
          redis.call('HDEL', KEYS[1], ARGV[1])
          redis.call('ZREM', KEYS[2], ARGV[1])
          local u = string.sub(v, 1, 32)
          if redis.call('HINCRBY', KEYS[3], u, -1) <= 0 then
            redis.call('HDEL', KEYS[3], u)
            result = 1
          end
        end

        """ + PurgeScript + """

        return result
        """;

    // KEYS: conns, exp, users. Returns the values of the live connections.
    private const string ReadScript = PurgeScript + """

        return redis.call('HVALS', KEYS[1])
        """;

    // KEYS: conns, exp, users. ARGV: timeout ms, then pairs of connectionId and "userId|userName". Refreshes this node's
    // connections and restores the ones Redis lost (e.g. after a restart without persistence).
    private const string HeartbeatScript = PurgeScript + """

        local timeout = tonumber(ARGV[1])
        for i = 2, #ARGV, 2 do
          local c = ARGV[i]
          redis.call('ZADD', KEYS[2], now + timeout, c)
          if redis.call('HSETNX', KEYS[1], c, ARGV[i + 1]) == 1 then
            redis.call('HINCRBY', KEYS[3], string.sub(ARGV[i + 1], 1, 32), 1)
          end
        end
        touch(timeout)
        return 0
        """;

    private readonly RedisConnectionProvider _connection;
    private readonly ILogger<RedisPresenceTracker> _logger;
    private readonly string _keyPrefix;
    private readonly long _timeoutMs;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _local = new(StringComparer.Ordinal);

    /// <summary>Initializes a new instance.</summary>
    /// <param name="connection">The shared Redis connection.</param>
    /// <param name="options">The Redis options.</param>
    /// <param name="logger">The logger.</param>
    public RedisPresenceTracker(RedisConnectionProvider connection, IOptions<RedisChitChatOptions> options, ILogger<RedisPresenceTracker> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _logger = logger;
        _keyPrefix = options.Value.KeyPrefix + "presence:";
        _timeoutMs = (long)Math.Ceiling(options.Value.PresenceTimeout.TotalMilliseconds);
    }

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the user was not online in the room on any node.</returns>
    /// <exception cref="ChatException">Redis is unreachable (<see cref="ChatErrorCodes.Unavailable"/>).</exception>
    public async ValueTask<bool> JoinAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentException.ThrowIfNullOrEmpty(connectionId);
        var entry = Entry(user);
        var result = await EvaluateAsync(JoinScript, room, [connectionId, user.UserId.ToString("N"), entry, _timeoutMs], cancellationToken).ConfigureAwait(false);
        _local.GetOrAdd(room, static _ => new(StringComparer.Ordinal))[connectionId] = entry;
        return (long)result == 1;
    }

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the user has no connection left in the room on any node.</returns>
    /// <exception cref="ChatException">Redis is unreachable (<see cref="ChatErrorCodes.Unavailable"/>).</exception>
    public async ValueTask<bool> LeaveAsync(string room, string connectionId, OnlineUser user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentException.ThrowIfNullOrEmpty(connectionId);
        if (_local.TryGetValue(room, out var connections))
        {
            // Stop refreshing first: even if Redis is unreachable now, the entry expires instead of lingering.
            connections.TryRemove(connectionId, out _);
        }

        var result = await EvaluateAsync(LeaveScript, room, [connectionId], cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <inheritdoc />
    /// <exception cref="ChatException">Redis is unreachable (<see cref="ChatErrorCodes.Unavailable"/>).</exception>
    public async ValueTask<IReadOnlyList<OnlineUser>> GetOnlineAsync(string room, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        var result = await EvaluateAsync(ReadScript, room, [], cancellationToken).ConfigureAwait(false);
        var users = new Dictionary<Guid, OnlineUser>();
        foreach (var value in (RedisValue[])result!)
        {
            if (TryParse(value.ToString(), out var user))
            {
                users.TryAdd(user.UserId, user);
            }
        }

        return users.Values.OrderBy(u => u.UserName, StringComparer.OrdinalIgnoreCase).ThenBy(u => u.UserId).ToArray();
    }

    /// <summary>
    /// Refreshes the expiry of every connection this node holds (called by the heartbeat service) and restores entries Redis
    /// lost. A room that fails is logged and retried on the next heartbeat.
    /// </summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when every room was refreshed.</returns>
    public async Task HeartbeatAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (room, connections) in _local)
        {
            if (connections.IsEmpty)
            {
                _local.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, string>>(room, connections));
                continue;
            }

            var args = new List<RedisValue>(1 + (connections.Count * 2)) { _timeoutMs };
            foreach (var (connectionId, entry) in connections)
            {
                args.Add(connectionId);
                args.Add(entry);
            }

            try
            {
                await EvaluateAsync(HeartbeatScript, room, [.. args], cancellationToken).ConfigureAwait(false);
            }
            catch (ChatException ex)
            {
                LogHeartbeatFailed(room, ex.InnerException ?? ex);
            }
        }
    }

    private static string Entry(OnlineUser user) => $"{user.UserId:N}|{user.UserName}";

    private static bool TryParse(string value, out OnlineUser user)
    {
        if (value.Length > 33 && value[32] == '|' && Guid.TryParseExact(value.AsSpan(0, 32), "N", out var id))
        {
            user = new OnlineUser(id, value[33..]);
            return true;
        }

        user = default;
        return false;
    }

    private async Task<RedisResult> EvaluateAsync(string script, string room, RedisValue[] args, CancellationToken cancellationToken)
    {
        var prefix = _keyPrefix + room;
        RedisKey[] keys = [prefix + ":conns", prefix + ":exp", prefix + ":users"];
        try
        {
            var multiplexer = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
            return await multiplexer.GetDatabase().ScriptEvaluateAsync(script, keys, args).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or TimeoutException)
        {
            throw new ChatException(ChatErrorCodes.Unavailable, "Presence is unavailable: Redis cannot be reached.", retryAfter: TimeSpan.FromSeconds(5), innerException: ex);
        }
    }

    [LoggerMessage(EventId = 4201, EventName = "RedisPresenceHeartbeatFailed", Level = LogLevel.Warning, Message = "Refreshing presence of room {Room} on Redis failed; retrying on the next heartbeat.")]
    private partial void LogHeartbeatFailed(string room, Exception exception);
}
