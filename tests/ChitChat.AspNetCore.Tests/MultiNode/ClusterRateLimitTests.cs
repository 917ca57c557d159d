using System.Net;
using System.Net.Http.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Redis;
using ChitChat.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.AspNetCore.Tests.MultiNode;

/// <summary>The register/login limit per client address holds across the nodes of a Redis cluster, not per node.</summary>
public sealed class ClusterRateLimitTests
{
    [Fact]
    public async Task Login_attempts_through_two_nodes_share_one_per_address_limit()
    {
        await using var redis = RedisServerFixture.CreateUnstarted();
        await redis.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var settings = new Dictionary<string, string?>
        {
            ["ChitChat:Transport"] = "Redis",
            ["ChitChat:Redis:Configuration"] = redis.ConnectionString,
            ["ChitChat:Redis:KeyPrefix"] = $"rl{Guid.NewGuid():N}:",
            ["ChitChat:Auth:RateLimit"] = "3",
            ["ChitChat:Auth:RateLimitWindow"] = "01:00:00",
        };
        await using var first = ChitChatServer.Start(settings);
        await using var second = ChitChatServer.Start(settings);
        foreach (var node in new[] { first, second })
        {
            // Counted on Redis only once connected (before that, each node counts locally).
            var connection = node.Services.GetRequiredService<RedisConnectionProvider>();
            await connection.GetAsync().AsTask().WaitAsync(Timeouts.Default);
            using var timeout = new CancellationTokenSource(Timeouts.Default);
            while (!connection.IsConnected)
            {
                // The polling interval; the loop ends on the condition or the overall timeout.
                await Task.Delay(50, timeout.Token);
            }
        }

        using var toFirst = first.Http();
        using var toSecond = second.Http();

        var statuses = new List<HttpStatusCode>();
        foreach (var http in new[] { toFirst, toSecond, toFirst })
        {
            using var response = await http.PostAsJsonAsync("/api/auth/login", new { userName = "nobody", password = "password123" }).WaitAsync(Timeouts.Default);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized], statuses);

        // Per node, the second node would still have two attempts left.
        using var limited = await toSecond.PostAsJsonAsync("/api/auth/login", new { userName = "nobody", password = "password123" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(limited, 429, "rate_limited");
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        using var register = await toFirst.PostAsJsonAsync("/api/auth/register", new { userName = "someone", password = "password123" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(register, 429, "rate_limited");
    }
}
