// Every await here is bounded by its own WaitAsync/Timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using ChitChat.AspNetCore.Hubs;
using ChitChat.Delivery;
using ChitChat.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Legacy.Tests;

/// <summary>The legacy API as a sink of the delivery engine, the origin field, the rate limiting policy and the package boundary.</summary>
public sealed class LegacyDeliveryTests
{
    [Fact]
    public async Task Native_messages_with_a_legacy_prefixed_clientMessageId_still_reach_legacy_clients()
    {
        // Defect: the legacy fan-out skipped every message whose clientMessageId started with "legacy-", so any native
        // client could hide a message from ChitChat 1 users. Only the server-set origin may hide it now.
        await using var host = await LegacyHost.StartAsync();
        await host.RegisterAsync("modern");
        var (hub, _) = await host.ConnectNativeAsync("modern");
        await using var _ = hub;
        using var socket = await host.ConnectAsync("global");

        await hub.InvokeAsync<JsonElement>("SendMessage", "global", "forged over SignalR", "legacy-abc").WaitAsync(LegacyHost.Timeout);
        using (var http = new HttpRequestMessage(HttpMethod.Post, "/api/rooms/global/messages") { Content = JsonContent.Create(new { text = "forged over HTTP", clientMessageId = "legacy-def" }) })
        {
            http.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await host.LoginNativeAsync("modern"));
            using var sent = await host.Http.SendAsync(http);
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }

        // The sentinel comes last: had either been skipped, it would be the first frame.
        await hub.InvokeAsync<JsonElement>("SendMessage", "global", "sentinel", "n-1").WaitAsync(LegacyHost.Timeout);
        Assert.Equal("forged over SignalR", (await LegacyHost.ReceiveJsonAsync(socket, "first native frame")).GetProperty("text").GetString());
        Assert.Equal("forged over HTTP", (await LegacyHost.ReceiveJsonAsync(socket, "second native frame")).GetProperty("text").GetString());
        Assert.Equal("sentinel", (await LegacyHost.ReceiveJsonAsync(socket, "sentinel frame")).GetProperty("text").GetString());

        var stored = await host.HistoryAsync("global");
        Assert.All(stored, m => Assert.Null(m.Origin));
    }

    [Fact]
    public async Task A_legacy_socket_is_an_anonymous_engine_member_that_announces_no_presence_and_leaves_on_close()
    {
        await using var host = await LegacyHost.StartAsync();
        await host.RegisterAsync("modern");
        var (hub, _) = await host.ConnectNativeAsync("modern");
        await using var _ = hub;
        var engine = host.Services.GetRequiredService<DeliveryEngine>();
        Assert.Equal(1, engine.CountLocalMembers("global"));

        using var socket = await host.ConnectAsync("global");

        // One room state on the node for both kinds of connection (no second subscription of its own).
        Assert.Equal(2, engine.CountLocalMembers("global"));
        var online = await hub.InvokeAsync<JsonElement>("GetPresence", "global").WaitAsync(LegacyHost.Timeout);
        Assert.Equal(["modern"], online.EnumerateArray().Select(u => u.GetProperty("userName").GetString()));

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(LegacyHost.Timeout);
        await LegacyHost.WaitUntilAsync(() => engine.CountLocalMembers("global") == 1, "legacy socket leaves the engine on close");
        Assert.Equal(0, host.Services.GetRequiredService<LegacyDeliverySink>().CountConnections("global"));
    }

    [Fact]
    public async Task The_legacy_rate_limit_is_an_ASP_NET_Core_policy_with_the_legacy_rejection_and_the_native_limiter_untouched()
    {
        await using var host = await LegacyHost.StartAsync(settings:
        [
            new("ChitChat:Legacy:AuthRateLimit", "1"),
            new("ChitChat:Legacy:AuthRateWindow", "01:00:00"),
            new("ChitChat:Auth:RateLimit", "1"),
            new("ChitChat:Auth:RateLimitWindow", "01:00:00"),
        ]);

        // Enforced by ASP.NET Core's rate limiter: the register and login endpoints (only they) name the legacy policy.
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        string? Policy(string pattern, string method) => endpoints
            .Single(e => e.RoutePattern.RawText == pattern && (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(method) ?? false))
            .Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName;
        Assert.Equal(LegacyAuthRateLimitPolicy.Name, Policy("/register/", "POST"));
        Assert.Equal(LegacyAuthRateLimitPolicy.Name, Policy("/login/", "POST"));
        Assert.Null(Policy("/message/all/", "POST"));
        Assert.Null(Policy("/message/create", "POST"));
        Assert.Null(Policy("/register/", "OPTIONS"));

        using var first = await host.Http.PostAsJsonAsync("/login/", new { userName = "x", password = "password-123" });
        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        using var limited = new HttpRequestMessage(HttpMethod.Post, "/login/") { Content = JsonContent.Create(new { userName = "x", password = "password-123" }) };
        limited.Headers.Add("Origin", "https://old.example.com");
        using var rejected = await host.Http.SendAsync(limited);

        // The legacy shape: 429, Retry-After, the CORS header of an allowed origin, no problem details.
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.True(int.Parse(rejected.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal("https://old.example.com", Assert.Single(rejected.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Empty(await rejected.Content.ReadAsByteArrayAsync());

        // The native API has its own budget and still answers problem details when it runs out.
        using var native = await host.Http.PostAsJsonAsync("/api/auth/login", new { userName = "x", password = "password-123" });
        Assert.Equal(HttpStatusCode.Unauthorized, native.StatusCode);
        using var nativeRejected = await host.Http.PostAsJsonAsync("/api/auth/login", new { userName = "x", password = "password-123" });
        Assert.Equal(HttpStatusCode.TooManyRequests, nativeRejected.StatusCode);
        Assert.Equal("application/problem+json", nativeRejected.Content.Headers.ContentType?.MediaType);
        Assert.Equal(ChatErrorCodes.RateLimited, (await nativeRejected.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task MapChitChatLegacy_requires_UseChitChat_for_its_rate_limiter()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ChitChat:Legacy:Enabled"] = "true",
            ["ChitChat:Auth:SigningKey"] = "legacy-tests-signing-key-0123456789-abcdefghij",
        });
        builder.Services.AddChitChat().AddAspNetCore().AddLegacyApi();
        await using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.MapChitChatLegacy());
        Assert.Contains("UseChitChat", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_legacy_API_lives_in_its_own_package_only()
    {
        Assert.Equal("ChitChat.AspNetCore.Legacy", typeof(LegacyApiOptions).Assembly.GetName().Name);
        Assert.Equal(typeof(LegacyApiOptions).Assembly, typeof(ChitChatLegacyServiceCollectionExtensions).Assembly);
        Assert.Equal(typeof(LegacyApiOptions).Assembly, typeof(ChitChatLegacyEndpointRouteBuilderExtensions).Assembly);
        var aspNetCore = typeof(ChatHub).Assembly;
        Assert.Empty(aspNetCore.GetTypes().Where(t => t.FullName!.Contains("Legacy", StringComparison.OrdinalIgnoreCase)).Select(t => t.FullName));
    }

    [Fact]
    public async Task When_the_engine_cannot_take_a_socket_legacy_frames_still_reach_the_room()
    {
        // The transport refuses every subscription, so the engine's join fails: the sockets keep legacy-to-legacy broadcast.
        await using var host = await LegacyHost.StartAsync(providers: chat => chat.Services.Replace(ServiceDescriptor.Singleton<IChatTransport, RefusingTransport>()));
        using var first = await host.ConnectAsync("global");
        using var second = await host.ConnectAsync("global");
        Assert.Equal(0, host.Services.GetRequiredService<DeliveryEngine>().CountLocalMembers("global"));

        await LegacyHost.SendJsonAsync(first, new { username = "old", text = "still broadcast", timestamp = 1 });
        Assert.Equal("still broadcast", (await LegacyHost.ReceiveJsonAsync(second, "legacy frame without the engine")).GetProperty("text").GetString());
    }

    private sealed class RefusingTransport : IChatTransport
    {
        public string Name => "refusing";

        public TransportStatus Status => TransportStatus.Healthy;

        public ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("This transport refuses subscriptions.");
    }
}
