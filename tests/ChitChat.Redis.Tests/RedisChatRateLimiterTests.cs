using ChitChat.RateLimiting;
using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Specification.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChitChat.Redis.Tests;

/// <summary>The rate limiter conformance suite on a real redis-server: every node is its own limiter with its own multiplexer.</summary>
public sealed class RedisChatRateLimiterConformanceTests(RedisServerFixture redis) : RateLimiterConformanceTests, IClassFixture<RedisServerFixture>
{
    private readonly RedisTestNodes _nodes = new(redis.ConnectionString);

    protected override async Task<IReadOnlyList<IChatRateLimiter>> CreateNodesAsync(int count)
    {
        var limiters = new List<IChatRateLimiter>();
        for (var i = 0; i < count; i++)
        {
            limiters.Add(await _nodes.ConnectedRateLimiterAsync());
        }

        return limiters;
    }

    protected override ValueTask DisposeNodesAsync(IReadOnlyList<IChatRateLimiter> nodes) => _nodes.DisposeAsync();
}

/// <summary>The Redis limiter's keys, registration and its fallback while Redis is down.</summary>
public sealed class RedisChatRateLimiterTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly RateLimitPolicy Policy = new("auth", 2, TimeSpan.FromHours(1));

    [Fact]
    public async Task The_log_is_one_expiring_key_per_policy_and_key_under_the_prefix()
    {
        await using var nodes = new RedisTestNodes(redis.ConnectionString);
        var limiter = await nodes.ConnectedRateLimiterAsync();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString).WaitAsync(Timeout);
        var database = multiplexer.GetDatabase();

        Assert.True((await limiter.AcquireAsync(Policy, "::1").AsTask().WaitAsync(Timeout)).IsAllowed);
        Assert.True((await limiter.AcquireAsync(Policy, "::1").AsTask().WaitAsync(Timeout)).IsAllowed);
        Assert.False((await limiter.AcquireAsync(Policy, "::1").AsTask().WaitAsync(Timeout)).IsAllowed);

        RedisKey key = nodes.KeyPrefix + "rl:auth:::1";
        Assert.Equal(2, await database.SortedSetLengthAsync(key).WaitAsync(Timeout)); // the refusal is not logged
        var ttl = await database.KeyTimeToLiveAsync(key).WaitAsync(Timeout);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task UseRedisTransport_replaces_the_in_memory_limiter_and_UseRedisRateLimiter_works_alone()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddChitChat().UseRedisTransport("127.0.0.1:1");
        await using (var provider = services.BuildServiceProvider())
        {
            Assert.IsType<RedisChatRateLimiter>(Assert.Single(provider.GetServices<IChatRateLimiter>()));
        }

        var alone = new ServiceCollection();
        alone.AddLogging();
        alone.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        alone.AddChitChat().UseRedisRateLimiter(o => o.Configuration = "127.0.0.1:1");
        await using (var provider = alone.BuildServiceProvider())
        {
            Assert.IsType<RedisChatRateLimiter>(provider.GetRequiredService<IChatRateLimiter>());
            Assert.IsType<ChitChat.Transport.InProcessTransport>(provider.GetRequiredService<ChitChat.Transport.IChatTransport>());
        }

        Assert.Throws<ArgumentNullException>(() => RedisChitChatBuilderExtensions.UseRedisRateLimiter(null!));
    }
}

/// <summary>Redis crashes and restarts under the rate limiter; each test runs its own redis-server.</summary>
public sealed class RedisChatRateLimiterFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task While_Redis_is_down_each_node_limits_locally_warns_once_and_shares_the_limit_again_after_a_restart()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await server.StartAsync().WaitAsync(Timeout);
        var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var a = await nodes.ConnectedRateLimiterAsync(loggers);
        var b = await nodes.ConnectedRateLimiterAsync();
        var policy = new RateLimitPolicy("send", 3, TimeSpan.FromHours(1));

        Assert.True((await a.AcquireAsync(policy, "before").AsTask().WaitAsync(Timeout)).IsAllowed);
        Assert.DoesNotContain(logs.Entries, e => e.Id.Id == 4301);

        server.Kill();
        await Poll.UntilAsync(
            async () =>
            {
                await a.AcquireAsync(policy, "probe-down-" + Guid.NewGuid().ToString("N")).AsTask().WaitAsync(Timeout);
                return a.IsFallingBack;
            },
            "node A falls back after the crash");

        // Down: node A still limits (on its own counts), never throws, and warns once however many calls it gets.
        var key = "down-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await a.AcquireAsync(policy, key).AsTask().WaitAsync(Timeout)).IsAllowed, $"Local permit {i + 1} while Redis is down.");
        }

        for (var i = 0; i < 5; i++)
        {
            var refused = await a.AcquireAsync(policy, key).AsTask().WaitAsync(Timeout);
            Assert.False(refused.IsAllowed, "The local limit holds while Redis is down.");
            Assert.InRange(refused.RetryAfter, TimeSpan.FromTicks(1), policy.Window);
        }

        Assert.Single(logs.Entries, e => e.Id.Id == 4301);

        // Back: the nodes share one limit again, and the recovery is logged.
        await server.RestartAsync().WaitAsync(Timeout);
        await Poll.UntilAsync(
            async () =>
            {
                await a.AcquireAsync(policy, "probe-up-" + Guid.NewGuid().ToString("N")).AsTask().WaitAsync(Timeout);
                await b.AcquireAsync(policy, "probe-up-" + Guid.NewGuid().ToString("N")).AsTask().WaitAsync(Timeout);
                return !a.IsFallingBack && !b.IsFallingBack;
            },
            "both nodes count on Redis again after the restart");
        var shared = "up-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True((await a.AcquireAsync(policy, shared).AsTask().WaitAsync(Timeout)).IsAllowed);
        Assert.True((await b.AcquireAsync(policy, shared).AsTask().WaitAsync(Timeout)).IsAllowed);
        Assert.True((await a.AcquireAsync(policy, shared).AsTask().WaitAsync(Timeout)).IsAllowed);
        Assert.False((await b.AcquireAsync(policy, shared).AsTask().WaitAsync(Timeout)).IsAllowed, "The shared limit holds across nodes again.");
        Assert.Single(logs.Entries, e => e.Id.Id == 4301);
        Assert.Single(logs.Entries, e => e.Id.Id == 4302);
    }
}
