using ChitChat.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChitChat.Redis.Tests.Infrastructure;

/// <summary>Creates Redis-backed nodes (one connection each) for a test and disposes them.</summary>
/// <param name="connectionString">The Redis configuration string.</param>
internal sealed class RedisTestNodes(string connectionString) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public string KeyPrefix { get; } = "test-" + Guid.NewGuid().ToString("N")[..8] + ":";

    public IOptions<RedisChitChatOptions> Options(TimeSpan? presenceTimeout = null, TimeSpan? heartbeat = null) =>
        Microsoft.Extensions.Options.Options.Create(new RedisChitChatOptions
        {
            Configuration = connectionString + ",connectTimeout=2000",
            KeyPrefix = KeyPrefix,
            PresenceTimeout = presenceTimeout ?? TimeSpan.FromSeconds(30),
            PresenceHeartbeatInterval = heartbeat,
        });

    public RedisConnectionProvider Connection(IOptions<RedisChitChatOptions>? options = null)
    {
        var connection = new RedisConnectionProvider(options ?? Options(), NullLogger<RedisConnectionProvider>.Instance);
        _owned.Add(connection);
        return connection;
    }

    public RedisTransport Transport()
    {
        var options = Options();
        var transport = new RedisTransport(Connection(options), options, NullLogger<RedisTransport>.Instance);
        _owned.Insert(0, transport);
        return transport;
    }

    /// <summary>Creates a transport and waits until its connection is up.</summary>
    public async Task<RedisTransport> ConnectedTransportAsync()
    {
        var options = Options();
        var connection = Connection(options);
        var transport = new RedisTransport(connection, options, NullLogger<RedisTransport>.Instance);
        _owned.Insert(0, transport);
        await connection.GetAsync().AsTask().WaitAsync(Poll.DefaultTimeout);
        await Poll.UntilAsync(() => transport.Status == ChitChat.Transport.TransportStatus.Healthy, "a new node is connected to Redis");
        return transport;
    }

    /// <summary>Creates <paramref name="count"/> connected transports, one per node (each with its own multiplexer).</summary>
    public async Task<IReadOnlyList<ChitChat.Transport.IChatTransport>> ConnectedTransportsAsync(int count)
    {
        var transports = new List<ChitChat.Transport.IChatTransport>();
        for (var i = 0; i < count; i++)
        {
            transports.Add(await ConnectedTransportAsync());
        }

        return transports;
    }

    public RedisPresenceTracker Presence(TimeSpan? timeout = null, TimeSpan? heartbeat = null)
    {
        var options = Options(timeout, heartbeat);
        return new RedisPresenceTracker(Connection(options), options, NullLogger<RedisPresenceTracker>.Instance);
    }

    public RedisLeaseProvider Leases()
    {
        var options = Options();
        return new RedisLeaseProvider(Connection(options), options);
    }

    /// <summary>Creates a rate limiter with its own connection and waits until that connection is up.</summary>
    public async Task<RedisChatRateLimiter> ConnectedRateLimiterAsync(ILoggerFactory? loggers = null)
    {
        var options = Options();
        var connection = Connection(options);
        var limiter = new RedisChatRateLimiter(connection, options, TimeProvider.System, (loggers ?? NullLoggerFactory.Instance).CreateLogger<RedisChatRateLimiter>());
        await connection.GetAsync().AsTask().WaitAsync(Poll.DefaultTimeout);
        await Poll.UntilAsync(() => connection.IsConnected, "a new rate limiter is connected to Redis");
        return limiter;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        _owned.Clear();
    }
}
