using ChitChat.Contracts;
using System.Net;
using System.Net.Http.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Hub_send_rate_limit_is_rate_limited_and_the_connection_stays_usable()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:SendRateLimit"] = "3", ["ChitChat:SendRateWindow"] = "01:00:00" });
        var alice = await server.NewUserAsync();
        var room = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);
        for (var i = 0; i < 3; i++)
        {
            await a.SendAsync(room, $"m{i}");
        }

        var error = await Assert.ThrowsAsync<HubException>(() => a.SendAsync(room, "one too many"));
        Assert.Equal("rate_limited", HubError.Code(error));
        Assert.StartsWith("rate_limited: at most 3 messages per 3600 seconds", HubError.Message(error), StringComparison.Ordinal);
        var retryAfter = System.Text.RegularExpressions.Regex.Match(HubError.Message(error), @" \[retryAfterMs=(\d+)\]$");
        Assert.True(retryAfter.Success, $"the hub error carries no machine-readable retry delay: {HubError.Message(error)}");
        Assert.InRange(long.Parse(retryAfter.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 3_600_000);

        // Still connected and usable for everything else.
        var history = await a.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room, null, null, null).WaitAsync(Timeouts.Default);
        Assert.Equal(3, history.Count);

        // HTTP shares the per-user limit: 429 with Retry-After.
        using var http = alice.Http();
        using var response = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "http too" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(response, 429, "rate_limited");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.True(response.Headers.RetryAfter!.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task Register_and_login_are_rate_limited_per_address_with_retry_after()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Auth:RateLimit"] = "3", ["ChitChat:Auth:RateLimitWindow"] = "01:00:00" });
        using var http = server.Http();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 4; i++)
        {
            var response = await http.PostAsJsonAsync("/api/auth/login", new { userName = "nobody", password = "password123" }).WaitAsync(Timeouts.Default);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], statuses);
        using (limited)
        {
            await Problem.AssertAsync(limited!, 429, "rate_limited");
            Assert.True(limited!.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }

        using var register = await http.PostAsJsonAsync("/api/auth/register", new { userName = "someone", password = "password123" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(register, 429, "rate_limited");

        // Other endpoints are not affected.
        using var health = await http.GetAsync("/health").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
