using ChitChat;
using ChitChat.AspNetCore.Legacy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the ChitChat 1 compatible API.</summary>
public static class ChitChatLegacyEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the ChitChat 1 compatible API at the root (<c>POST /register/</c>, <c>/login/</c>, <c>/message/all/</c>,
    /// <c>/message/create</c> and the WebSocket <c>/ws/chat/{roomName}/</c>) when <c>ChitChat:Legacy:Enabled</c> is
    /// <see langword="true"/>, and logs a warning that it is unauthenticated by design. When it is disabled nothing is mapped
    /// (the routes answer 404). Requires <c>AddLegacyApi()</c> on the ChitChat builder and <c>app.UseChitChat()</c> before
    /// it (its rate limiter enforces the register and login limits). See <c>docs/legacy.md</c>.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A builder for conventions on the legacy endpoints (empty when disabled).</returns>
    /// <exception cref="InvalidOperationException"><c>AddLegacyApi()</c> or <c>app.UseChitChat()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapChitChatLegacy(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<LegacyHttpApi>() is null)
        {
            throw new InvalidOperationException("MapChitChatLegacy requires services.AddChitChat().AddLegacyApi() first.");
        }

        if (endpoints is IApplicationBuilder app && !app.Properties.ContainsKey(ChitChatApplicationBuilderExtensions.MiddlewareMarker))
        {
            throw new InvalidOperationException("Call app.UseChitChat() before app.MapChitChatLegacy(): the legacy register and login limits need its rate limiter.");
        }

        var options = services.GetRequiredService<IOptions<LegacyApiOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("ChitChat.AspNetCore.Legacy");
        var group = endpoints.MapGroup(string.Empty);
        if (!options.Enabled)
        {
            LegacyLog.LegacyApiDisabled(logger);
            return group;
        }

        LegacyLog.LegacyApiEnabled(logger, options.AllowedOrigins.Count == 0 ? "(none)" : string.Join(", ", options.AllowedOrigins));
        var api = services.GetRequiredService<LegacyHttpApi>();

        // Register and login hash passwords: limited per client address by ASP.NET Core's rate limiter (UseChitChat).
        var auth = group.MapGroup(string.Empty).RequireRateLimiting(LegacyAuthRateLimitPolicy.Name);
        auth.MapPost("/register/", api.RegisterAsync).WithDisplayName("ChitChat legacy register");
        auth.MapPost("/login/", api.LoginAsync).WithDisplayName("ChitChat legacy login");
        group.MapPost("/message/all/", api.ListMessagesAsync).WithDisplayName("ChitChat legacy message list");
        group.MapPost("/message/create", api.CreateMessageAsync).WithDisplayName("ChitChat legacy message create");
        group.MapMethods("/register/", [HttpMethods.Options], api.PreflightAsync);
        group.MapMethods("/login/", [HttpMethods.Options], api.PreflightAsync);
        group.MapMethods("/message/all/", [HttpMethods.Options], api.PreflightAsync);
        group.MapMethods("/message/create", [HttpMethods.Options], api.PreflightAsync);

        // The WebSocket endpoint brings its own WebSockets middleware, so the host needs no app.UseWebSockets().
        var webSocketPipeline = endpoints.CreateApplicationBuilder()
            .UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        webSocketPipeline.Run(api.WebSocketAsync);
        group.Map("/ws/chat/{roomName}/", webSocketPipeline.Build()).WithDisplayName("ChitChat legacy WebSocket");
        return group;
    }
}
