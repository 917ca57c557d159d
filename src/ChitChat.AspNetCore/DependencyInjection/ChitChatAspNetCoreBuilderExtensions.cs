using System.Threading.RateLimiting;
using ChitChat;
using ChitChat.AspNetCore;
using ChitChat.AspNetCore.Authentication;
using ChitChat.AspNetCore.Authorization;
using ChitChat.AspNetCore.Delivery;
using ChitChat.AspNetCore.Hosting;
using ChitChat.AspNetCore.Http;
using ChitChat.AspNetCore.Hubs;
using ChitChat.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using ChitChat.Contracts;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ChitChat's ASP.NET Core host: SignalR hub, HTTP API, JWT authentication, rate limiting, problem details, health checks and OpenAPI.</summary>
public static class ChitChatAspNetCoreBuilderExtensions
{
    /// <summary>The <see cref="RateLimitPolicy.Name"/> under which register and login requests are counted per client address.</summary>
    private const string AuthRateLimitPolicyName = "auth";

    /// <summary>
    /// Adds the ASP.NET Core host of ChitChat. Options bind from the <c>ChitChat</c> section (<c>ChitChat:Auth</c>,
    /// <c>ChitChat:Hub</c>, <c>ChitChat:Http</c>) and are validated at start-up: outside Development a missing or short
    /// <c>ChitChat:Auth:SigningKey</c> fails start-up with an <see cref="OptionsValidationException"/>. Then call
    /// <c>app.UseChitChat()</c> and <c>app.MapChitChat()</c>.
    /// </summary>
    /// <param name="builder">The ChitChat builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder AddAspNetCore(this IChitChatBuilder builder, Action<ChitChatAspNetCoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        if (!services.Any(d => d.ServiceType == typeof(SignalRDeliverySink)))
        {
            services.AddOptions<ChitChatAspNetCoreOptions>()
                .BindConfiguration(ChitChatOptions.SectionName)
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChitChatAspNetCoreOptions>, ChitChatAspNetCoreOptionsValidator>());

            services.TryAddSingleton<SigningKeyProvider>();
            services.TryAddSingleton(sp => new ChitChatTokenService(
                sp.GetRequiredService<SigningKeyProvider>(),
                sp.GetRequiredService<IOptions<ChitChatAspNetCoreOptions>>(),
                sp.GetRequiredService<TimeProvider>()));
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SigningKeyAnnouncer>());
            services.TryAddSingleton<SignalRDeliverySink>();

            // ChitChat's room rules as an authorization handler; applications add their own IAuthorizationHandlers beside it.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, ChitChatRoomAuthorizationHandler>());

            AddAuthentication(services);
            AddRateLimiting(services);

            services.AddProblemDetails();
            services.AddExceptionHandler<ChatExceptionHandler>();
            services.AddHealthChecks();
            services.AddOpenApi();

            services.AddSignalR()
                .AddJsonProtocol()
                .AddMessagePackProtocol()
                .AddHubOptions<ChatHub>(o => o.AddFilter<ChatHubFilter>());
            services.TryAddSingleton<ChatHubFilter>();
            services.TryAddSingleton<IUserIdProvider, ChatUserIdProvider>();
            services.AddOptions<HubOptions<ChatHub>>()
                .Configure<IOptions<ChitChatAspNetCoreOptions>>((hub, options) =>
                {
                    hub.MaximumReceiveMessageSize = options.Value.Hub.MaximumReceiveMessageSize;
                    // Safe here: ChatHubFilter turns every exception of a hub method into a HubException ("<code>: <message>",
                    // or a detail-free internal_error), so what detailed errors add is only SignalR's own protocol errors,
                    // e.g. "InvalidDataException: The maximum message size of 32768B was exceeded" or an argument binding failure.
                    hub.EnableDetailedErrors = true;
                    hub.MaximumParallelInvocationsPerClient = options.Value.Hub.MaximumParallelInvocationsPerClient;
                });
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    private static void AddAuthentication(IServiceCollection services)
    {
        services.AddAuthentication()
            .AddJwtBearer(ChitChatAuthenticationDefaults.AuthenticationScheme, _ => { })
            .AddJwtBearer(ChitChatAuthenticationDefaults.ExternalAuthenticationScheme, _ => { });

        // With ChitChat's scheme alone ASP.NET Core made it the default; the external scheme (only ever reached through it)
        // must not change that: an app without schemes of its own keeps ChitChat.Bearer as its default scheme.
        services.PostConfigure<AuthenticationOptions>(o =>
        {
            if (o.DefaultScheme is null && o.Schemes.All(static s => s.Name is ChitChatAuthenticationDefaults.AuthenticationScheme or ChitChatAuthenticationDefaults.ExternalAuthenticationScheme))
            {
                o.DefaultScheme = ChitChatAuthenticationDefaults.AuthenticationScheme;
            }
        });
        services.AddOptions<JwtBearerOptions>(ChitChatAuthenticationDefaults.AuthenticationScheme)
            .Configure<SigningKeyProvider, IOptions<ChitChatAspNetCoreOptions>>((jwt, keys, options) =>
            {
                var auth = options.Value.Auth;
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuer = auth.Issuer,
                    ValidateAudience = true,
                    ValidAudience = auth.Audience,
                    ValidateIssuerSigningKey = true,
                    IssuerSigningKey = keys.Key,
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = ChitChatAuthenticationDefaults.UserNameClaim,
                };

                // The one entry point of the hub and the API: a token of another issuer goes to the external scheme (when
                // configured), which validates it against the issuer's discovery document.
                jwt.ForwardDefaultSelector = context => BearerAuthentication.SelectScheme(context, auth);
                jwt.Events = BearerAuthentication.CreateEvents(auth, external: false);
            });
        services.AddOptions<JwtBearerOptions>(ChitChatAuthenticationDefaults.ExternalAuthenticationScheme)
            .Configure<IOptions<ChitChatAspNetCoreOptions>, TimeProvider, ILoggerFactory>((jwt, options, time, loggers) =>
            {
                var auth = options.Value.Auth;
                jwt.Events = BearerAuthentication.CreateEvents(auth, external: true);
                if (string.IsNullOrEmpty(auth.Authority))
                {
                    // Never selected without an authority; refuses everything if it were.
                    jwt.TokenValidationParameters = new TokenValidationParameters { ValidateIssuer = true, ValidIssuers = [], ValidateAudience = true, ValidAudiences = [] };
                    return;
                }

                // Discovery document and JWKS, which JwtBearer hands to the token handler: a token naming an unknown key id
                // makes it fetch them again (at most once per RefreshInterval, 5 minutes) and validate once more, so a key
                // rotated into the JWKS is accepted on its first use (see ExternalIssuerConfigurationManager).
                jwt.Authority = auth.Authority;
                jwt.Audience = auth.Audience;
                jwt.RequireHttpsMetadata = auth.RequireHttpsMetadata;
                jwt.MetadataAddress = auth.Authority.TrimEnd('/') + "/.well-known/openid-configuration";
                jwt.Backchannel = new HttpClient { Timeout = TimeSpan.FromSeconds(60), MaxResponseContentBufferSize = 10 * 1024 * 1024 };
                jwt.ConfigurationManager = new ExternalIssuerConfigurationManager(
                    jwt.MetadataAddress,
                    auth.RequireHttpsMetadata,
                    jwt.Backchannel,
                    time,
                    loggers.CreateLogger(typeof(ExternalIssuerConfigurationManager).FullName!))
                {
                    RefreshInterval = jwt.RefreshInterval,
                    AutomaticRefreshInterval = jwt.AutomaticRefreshInterval,
                };
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidateAudience = true,
                    ValidAudience = auth.Audience,
                    ValidateIssuerSigningKey = true,
                    RequireSignedTokens = true,

                    // Asymmetric signatures only, with keys of the issuer's JWKS.
                    ValidAlgorithms =
                    [
                        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
                        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
                        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
                    ],
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = auth.UserNameClaim,
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(ChitChatAuthenticationDefaults.AuthorizationPolicy, policy => policy
                .AddAuthenticationSchemes(ChitChatAuthenticationDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(ChitChatAuthenticationDefaults.UserIdClaim)
                .RequireClaim(ChitChatAuthenticationDefaults.UserNameClaim));
    }

    private static void AddRateLimiting(IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>()
            .Configure<IOptions<ChitChatAspNetCoreOptions>, IChatRateLimiter, TimeProvider>((limiter, options, chatLimiter, time) =>
            {
                var auth = options.Value.Auth;
                limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;

                // Counted by IChatRateLimiter (on Redis when configured), so the limit holds across nodes.
                var policy = auth.RateLimit > 0 ? new RateLimitPolicy(AuthRateLimitPolicyName, auth.RateLimit, auth.RateLimitWindow) : null;
                limiter.AddPolicy(ChatApi.AuthRateLimitPolicy, context =>
                {
                    if (policy is null)
                    {
                        return RateLimitPartition.GetNoLimiter("none");
                    }

                    // Per client IP address. Behind a proxy, configure ForwardedHeaders so this is the client's address.
                    var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                    return RateLimitPartition.Get(ip, key => new ChatRateLimiterAdapter(chatLimiter, policy, key, time));
                });
                var previous = limiter.OnRejected;
                limiter.OnRejected = async (context, cancellationToken) =>
                {
                    var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var delay) ? delay : auth.RateLimitWindow;
                    var error = new ChatException(
                        ChatErrorCodes.RateLimited,
                        $"at most {auth.RateLimit} register or login requests per {auth.RateLimitWindow.TotalSeconds:0.###} seconds from one address",
                        retryAfter: retryAfter);
                    await ChatProblems.WriteAsync(context.HttpContext, error).ConfigureAwait(false);
                    if (previous is not null)
                    {
                        await previous(context, cancellationToken).ConfigureAwait(false);
                    }
                };
            });
    }

    private sealed class ChatUserIdProvider : IUserIdProvider
    {
        public string? GetUserId(HubConnectionContext connection) =>
            connection.User.FindFirst(ChitChatAuthenticationDefaults.UserIdClaim)?.Value;
    }
}
