using ChitChat.RateLimiting;
using ChitChat.Specification.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ChitChat.Core.Tests;

/// <summary>The rate limiter conformance suite on the in-memory limiter: one process is one node.</summary>
public sealed class InMemoryChatRateLimiterConformanceTests : RateLimiterConformanceTests
{
    protected override Task<IReadOnlyList<IChatRateLimiter>> CreateNodesAsync(int count)
    {
        var limiter = new InMemoryChatRateLimiter(TimeProvider.System);
        return Task.FromResult<IReadOnlyList<IChatRateLimiter>>(Enumerable.Repeat<IChatRateLimiter>(limiter, count).ToArray());
    }
}

/// <summary>The in-memory limiter's window driven by a fake clock.</summary>
public sealed class InMemoryChatRateLimiterTests
{
    private static readonly RateLimitPolicy Policy = new("send", 3, TimeSpan.FromSeconds(60));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task The_window_slides_one_permit_at_a_time()
    {
        var limiter = new InMemoryChatRateLimiter(_time);
        Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed); // t = 0
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed); // t = 20
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed); // t = 40
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(RateLimitDecision.Refused(TimeSpan.FromSeconds(10)), await limiter.AcquireAsync(Policy, "u").Timed()); // t = 50: t = 0 frees at 60

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(RateLimitDecision.Refused(TimeSpan.FromSeconds(1)), await limiter.AcquireAsync(Policy, "u").Timed()); // t = 59
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed); // t = 60: the permit of t = 0 left the window
        Assert.Equal(RateLimitDecision.Refused(TimeSpan.FromSeconds(20)), await limiter.AcquireAsync(Policy, "u").Timed()); // next frees at 80

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed); // t = 80
        Assert.False((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed);
    }

    [Fact]
    public async Task Refused_requests_are_not_counted()
    {
        var limiter = new InMemoryChatRateLimiter(_time);
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed);
        }

        for (var i = 0; i < 50; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.False((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed);
        }

        _time.Advance(TimeSpan.FromSeconds(10)); // t = 60: all three granted permits left the window
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed, $"Permit {i + 1} after the window is granted.");
        }
    }

    [Fact]
    public async Task A_full_window_later_every_permit_is_back()
    {
        var limiter = new InMemoryChatRateLimiter(_time);
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed);
        }

        Assert.Equal(RateLimitDecision.Refused(Policy.Window), await limiter.AcquireAsync(Policy, "u").Timed());
        _time.Advance(Policy.Window);
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await limiter.AcquireAsync(Policy, "u").Timed()).IsAllowed);
        }
    }

    [Fact]
    public async Task A_lowered_limit_applies_at_once_and_the_retry_time_follows_the_newest_permits()
    {
        var limiter = new InMemoryChatRateLimiter(_time);
        var generous = new RateLimitPolicy("send", 5, TimeSpan.FromSeconds(60));
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await limiter.AcquireAsync(generous, "u").Timed()).IsAllowed); // t = 0, 10, 20, 30, 40
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        // t = 50, limit 2: the two newest permits (30 and 40) count; the older one of them frees at 90.
        var strict = new RateLimitPolicy("send", 2, TimeSpan.FromSeconds(60));
        Assert.Equal(RateLimitDecision.Refused(TimeSpan.FromSeconds(40)), await limiter.AcquireAsync(strict, "u").Timed());
    }

    [Fact]
    public async Task Idle_keys_are_dropped_and_active_ones_kept()
    {
        var limiter = new InMemoryChatRateLimiter(_time);
        for (var i = 0; i < 100; i++)
        {
            await limiter.AcquireAsync(Policy, "idle-" + i).Timed();
        }

        _time.Advance(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 3; i++)
        {
            await limiter.AcquireAsync(Policy, "active").Timed();
        }

        Assert.Equal(101, limiter.PartitionCount);

        // t = 60 (a sweep is due): the idle keys' permits left their window; "active" (granted at t = 30) still counts.
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await limiter.AcquireAsync(Policy, "other").Timed()).IsAllowed);
        Assert.Equal(2, limiter.PartitionCount);
        Assert.False((await limiter.AcquireAsync(Policy, "active").Timed()).IsAllowed, "The active key kept its count across the sweep.");
        Assert.True((await limiter.AcquireAsync(Policy, "idle-0").Timed()).IsAllowed, "A dropped key starts afresh.");
    }

    [Fact]
    public async Task Concurrent_requests_with_sweeps_never_exceed_the_limit()
    {
        var limiter = new InMemoryChatRateLimiter(_time);
        var policy = new RateLimitPolicy("send", 7, TimeSpan.FromSeconds(1));
        for (var round = 0; round < 20; round++)
        {
            // Each round is a fresh window of its own; a sweep runs at every minute mark.
            _time.Advance(TimeSpan.FromSeconds(10));
            var decisions = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => limiter.AcquireAsync(policy, "u").AsTask()))).Timed();
            Assert.Equal(7, decisions.Count(d => d.IsAllowed));
        }
    }

    [Fact]
    public void Policies_validate_their_arguments()
    {
        Assert.Throws<ArgumentNullException>(() => new RateLimitPolicy(null!, 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => new RateLimitPolicy("", 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => new RateLimitPolicy("a:b", 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => new RateLimitPolicy("a b", 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => new RateLimitPolicy(new string('a', 65), 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimitPolicy("a", 0, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimitPolicy("a", 1, TimeSpan.Zero));
        Assert.Equal(new RateLimitPolicy("auth.v1_x-y", 1, TimeSpan.FromSeconds(1)), new RateLimitPolicy("auth.v1_x-y", 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentNullException>(() => new InMemoryChatRateLimiter(null!));
    }

    [Fact]
    public void AddChitChat_registers_the_in_memory_limiter_once_as_a_singleton_on_the_registered_clock()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddChitChat();
        services.AddChitChat();

        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IChatRateLimiter));
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
        using var provider = services.BuildServiceProvider();
        Assert.IsType<InMemoryChatRateLimiter>(provider.GetRequiredService<IChatRateLimiter>());
        Assert.Same(provider.GetRequiredService<IChatRateLimiter>(), provider.GetRequiredService<IChatRateLimiter>());
    }

    [Fact]
    public void AddChitChat_keeps_a_limiter_registered_before()
    {
        var services = new ServiceCollection();
        var mine = new InMemoryChatRateLimiter(_time);
        services.AddSingleton<IChatRateLimiter>(mine);
        services.AddChitChat();

        using var provider = services.BuildServiceProvider();
        Assert.Same(mine, provider.GetRequiredService<IChatRateLimiter>());
    }
}
