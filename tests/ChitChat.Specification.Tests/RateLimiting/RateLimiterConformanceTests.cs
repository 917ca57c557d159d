using ChitChat.RateLimiting;

namespace ChitChat.Specification.Tests;

/// <summary>
/// The behaviour every <see cref="IChatRateLimiter"/> must show. Derive and supply <see cref="CreateNodesAsync"/>: N limiters
/// sharing one backend stand for N nodes (a single-process limiter returns the same instance N times). Windows are long
/// (an hour) so that no permit leaves its window while a test runs; each test uses its own policy name and keys, so tests
/// may share a backend.
/// </summary>
public abstract class RateLimiterConformanceTests : NodeSpecification<IChatRateLimiter>
{
    /// <summary>The window of the policies of these tests.</summary>
    protected static readonly TimeSpan Window = TimeSpan.FromHours(1);


    [Fact]
    public async Task Grants_the_limit_then_refuses_with_a_retry_after_within_the_window()
    {
        var limiter = (await CreateTrackedNodesAsync(1))[0];
        var policy = NewPolicy(3);
        var key = NewKey();

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await AcquireAsync(limiter, policy, key)).IsAllowed, $"Permit {i + 1} of 3 is granted.");
        }

        for (var i = 0; i < 2; i++)
        {
            var refused = await AcquireAsync(limiter, policy, key);
            Assert.False(refused.IsAllowed, $"Request {i + 4} is refused.");
            Assert.InRange(refused.RetryAfter, TimeSpan.FromTicks(1), Window);
        }
    }

    [Fact]
    public async Task A_limit_of_one_grants_once()
    {
        var limiter = (await CreateTrackedNodesAsync(1))[0];
        var policy = NewPolicy(1);
        var key = NewKey();

        Assert.True((await AcquireAsync(limiter, policy, key)).IsAllowed);
        var refused = await AcquireAsync(limiter, policy, key);
        Assert.False(refused.IsAllowed);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromTicks(1), Window);
    }

    [Fact]
    public async Task Keys_are_independent()
    {
        var limiter = (await CreateTrackedNodesAsync(1))[0];
        var policy = NewPolicy(2);
        var exhausted = NewKey();
        await ExhaustAsync(limiter, policy, exhausted, 2);

        Assert.True((await AcquireAsync(limiter, policy, NewKey())).IsAllowed, "Another key has its own permits.");
        Assert.False((await AcquireAsync(limiter, policy, exhausted)).IsAllowed, "The exhausted key stays refused.");
    }

    [Fact]
    public async Task Policies_are_independent()
    {
        var limiter = (await CreateTrackedNodesAsync(1))[0];
        var key = NewKey();
        var first = NewPolicy(2);
        await ExhaustAsync(limiter, first, key, 2);

        Assert.True((await AcquireAsync(limiter, NewPolicy(2), key)).IsAllowed, "The same key under another policy has its own permits.");
        Assert.False((await AcquireAsync(limiter, first, key)).IsAllowed, "The exhausted policy stays refused.");
    }

    [Fact]
    public async Task Two_nodes_share_one_limit()
    {
        var nodes = await CreateTrackedNodesAsync(2);
        var policy = NewPolicy(4);
        var key = NewKey();

        Assert.True((await AcquireAsync(nodes[0], policy, key)).IsAllowed);
        Assert.True((await AcquireAsync(nodes[1], policy, key)).IsAllowed);
        Assert.True((await AcquireAsync(nodes[0], policy, key)).IsAllowed);
        Assert.True((await AcquireAsync(nodes[1], policy, key)).IsAllowed);

        // A per-node limiter would grant each node its own four.
        var onFirst = await AcquireAsync(nodes[0], policy, key);
        var onSecond = await AcquireAsync(nodes[1], policy, key);
        Assert.False(onFirst.IsAllowed, "Node 0 refuses once the nodes together used the limit.");
        Assert.False(onSecond.IsAllowed, "Node 1 refuses once the nodes together used the limit.");
        Assert.InRange(onFirst.RetryAfter, TimeSpan.FromTicks(1), Window);
        Assert.InRange(onSecond.RetryAfter, TimeSpan.FromTicks(1), Window);
    }

    [Fact]
    public async Task Concurrent_requests_on_several_nodes_never_exceed_the_limit()
    {
        var nodes = await CreateTrackedNodesAsync(3);
        var policy = NewPolicy(10);
        var key = NewKey();

        var decisions = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(() => AcquireAsync(nodes[i % nodes.Count], policy, key))));

        Assert.Equal(10, decisions.Count(d => d.IsAllowed));
        Assert.All(decisions.Where(d => !d.IsAllowed), d => Assert.InRange(d.RetryAfter, TimeSpan.FromTicks(1), Window));
    }

    [Fact]
    public async Task Keys_with_separators_and_non_ascii_characters_are_kept_apart()
    {
        var limiter = (await CreateTrackedNodesAsync(1))[0];
        var policy = NewPolicy(1);
        var suffix = NewKey();
        string[] keys = ["::1" + suffix, "::1:" + suffix, "a:b" + suffix, "a" + suffix, "Zoë 🙂" + suffix, "zoë 🙂" + suffix, " " + suffix];

        foreach (var key in keys)
        {
            Assert.True((await AcquireAsync(limiter, policy, key)).IsAllowed, $"The first permit of '{key}' is granted.");
        }

        foreach (var key in keys)
        {
            Assert.False((await AcquireAsync(limiter, policy, key)).IsAllowed, $"The second request of '{key}' is refused.");
        }
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected()
    {
        var limiter = (await CreateTrackedNodesAsync(1))[0];
        await Assert.ThrowsAsync<ArgumentNullException>(() => limiter.AcquireAsync(null!, "key").AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => limiter.AcquireAsync(NewPolicy(1), null!).AsTask());
    }

    /// <summary>Creates a policy with a unique name and <see cref="Window"/>.</summary>
    /// <param name="permits">The permit limit.</param>
    /// <returns>The policy.</returns>
    protected static RateLimitPolicy NewPolicy(int permits) => new("conf-" + Guid.NewGuid().ToString("N")[..12], permits, Window);

    /// <summary>Creates a unique key.</summary>
    /// <returns>The key.</returns>
    protected static string NewKey() => "key-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Takes a permit with a timeout.</summary>
    /// <param name="limiter">The limiter.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="key">The key.</param>
    /// <returns>The decision.</returns>
    protected static Task<RateLimitDecision> AcquireAsync(IChatRateLimiter limiter, RateLimitPolicy policy, string key)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        return limiter.AcquireAsync(policy, key).AsTask().WaitAsync(Timeout);
    }

    private static async Task ExhaustAsync(IChatRateLimiter limiter, RateLimitPolicy policy, string key, int permits)
    {
        for (var i = 0; i < permits; i++)
        {
            Assert.True((await AcquireAsync(limiter, policy, key)).IsAllowed, $"Permit {i + 1} of {permits} is granted.");
        }

        Assert.False((await AcquireAsync(limiter, policy, key)).IsAllowed, "The key is exhausted.");
    }
}
