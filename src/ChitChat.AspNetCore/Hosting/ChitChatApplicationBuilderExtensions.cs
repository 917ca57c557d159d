using ChitChat.AspNetCore;
using ChitChat.AspNetCore.Authentication;
using ChitChat.AspNetCore.Hosting;
using ChitChat.AspNetCore.Http;
using ChitChat.AspNetCore.Hubs;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds ChitChat's middleware and endpoints to an ASP.NET Core application.</summary>
public static class ChitChatApplicationBuilderExtensions
{
    /// <summary>The <see cref="IApplicationBuilder.Properties"/> key <see cref="UseChitChat"/> sets (checked by the map methods).</summary>
    internal const string MiddlewareMarker = "ChitChat.MiddlewareAdded";

    /// <summary>
    /// Adds the middleware ChitChat's endpoints rely on: the exception handler that turns ChitChat errors into problem
    /// details, and the rate limiter (register/login per client IP). Call it after <c>UseRouting</c> (implicit with
    /// <c>WebApplication</c>) and before <see cref="MapChitChat"/>.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The same instance of the application builder for chaining.</returns>
    public static IApplicationBuilder UseChitChat(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseRateLimiter();
        app.Properties[MiddlewareMarker] = true;
        return app;
    }

    /// <summary>
    /// Maps ChitChat: the hub at <c>/hubs/chat</c>, the HTTP API under <c>/api</c>, <c>GET /health</c> and the OpenAPI
    /// document at <c>/openapi/v1.json</c>.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>The same instance of the endpoint route builder for chaining.</returns>
    /// <exception cref="InvalidOperationException"><c>AddChitChat().AddAspNetCore()</c> or <see cref="UseChitChat"/> was not called.</exception>
    public static IEndpointRouteBuilder MapChitChat(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<IOptions<ChitChatAspNetCoreOptions>>() is null || endpoints.ServiceProvider.GetService<ChitChatTokenService>() is null)
        {
            throw new InvalidOperationException("Call services.AddChitChat().AddAspNetCore() before app.MapChitChat().");
        }

        if (endpoints is IApplicationBuilder app && !app.Properties.ContainsKey(MiddlewareMarker))
        {
            throw new InvalidOperationException("Call app.UseChitChat() before app.MapChitChat(): the API needs its exception handler and rate limiter.");
        }

        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<ChitChatAspNetCoreOptions>>();
        endpoints.MapHub<ChatHub>(ChitChatEndpointDefaults.HubPath, dispatcher =>
        {
            var hub = options.Value.Hub;
            dispatcher.TransportMaxBufferSize = hub.TransportMaxBufferSize;
            dispatcher.ApplicationMaxBufferSize = Math.Max(hub.MaximumReceiveMessageSize, 64 * 1024);

            // A connection lives no longer than the token it was opened with (ChitChat's own or the external issuer's):
            // the client reconnects with a fresh token.
            dispatcher.CloseOnAuthenticationExpiration = true;
        }).RequireAuthorization(ChitChatAuthenticationDefaults.AuthorizationPolicy);

        ChatApi.MapChatApi(endpoints, ChitChatEndpointDefaults.ApiPrefix);

        endpoints.MapHealthChecks(ChitChatEndpointDefaults.HealthPath, new HealthCheckOptions
        {
            ResponseWriter = HealthResponseWriter.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous();

        endpoints.MapOpenApi();
        return endpoints;
    }
}
