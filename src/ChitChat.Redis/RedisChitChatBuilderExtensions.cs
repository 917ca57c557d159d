using ChitChat;
using ChitChat.Leases;
using ChitChat.Presence;
using ChitChat.RateLimiting;
using ChitChat.Redis;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ChitChat's Redis scale-out.</summary>
public static class RedisChitChatBuilderExtensions
{
    /// <summary>
    /// Scales ChitChat out over Redis: replaces the transport with <see cref="RedisTransport"/>, presence with
    /// <see cref="RedisPresenceTracker"/> (plus its heartbeat service), leases with <see cref="RedisLeaseProvider"/> and the rate
    /// limiter with one that counts on Redis (see <see cref="UseRedisRateLimiter"/>), and adds
    /// a <c>redis</c> health check. Options bind from <c>ChitChat:Redis</c> and are validated at start-up. When no configuration
    /// is given, an <see cref="IConnectionMultiplexer"/> registered in dependency injection is used and never disposed.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisTransport(this IChitChatBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddRedisCore(builder, null);
        builder.Services.RemoveAll<IChatTransport>();
        builder.Services.TryAddSingleton<RedisTransport>();
        builder.Services.AddSingleton<IChatTransport>(sp => sp.GetRequiredService<RedisTransport>());
        return builder.UseRedisPresence().UseRedisLeases().UseRedisRateLimiter();
    }

    /// <summary>Scales ChitChat out over Redis, configuring the options in code. See <see cref="UseRedisTransport(IChitChatBuilder)"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisTransport(this IChitChatBuilder builder, Action<RedisChitChatOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddRedisCore(builder, configure);
        return builder.UseRedisTransport();
    }

    /// <summary>Scales ChitChat out over the Redis server(s) named by a StackExchange.Redis configuration string. See <see cref="UseRedisTransport(IChitChatBuilder)"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The configuration string, e.g. <c>127.0.0.1:6379</c>.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisTransport(this IChitChatBuilder builder, string configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return builder.UseRedisTransport(o => o.Configuration = configuration);
    }

    /// <summary>Scales ChitChat out over Redis with the given StackExchange.Redis configuration. See <see cref="UseRedisTransport(IChitChatBuilder)"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The configuration; copied, with <see cref="ConfigurationOptions.AbortOnConnectFail"/> forced off.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisTransport(this IChitChatBuilder builder, ConfigurationOptions configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.UseRedisTransport(o => o.ConfigurationOptions = configuration);
    }

    /// <summary>
    /// Uses <see cref="RedisPresenceTracker"/> (presence across nodes, expiring the users of a crashed node within
    /// <see cref="RedisChitChatOptions.PresenceTimeout"/>) and its heartbeat service. Included in <c>UseRedisTransport</c>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisPresence(this IChitChatBuilder builder, Action<RedisChitChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddRedisCore(builder, configure);
        builder.Services.RemoveAll<IPresenceTracker>();
        builder.Services.TryAddSingleton<RedisPresenceTracker>();
        builder.Services.AddSingleton<IPresenceTracker>(sp => sp.GetRequiredService<RedisPresenceTracker>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisPresenceHeartbeatService>());
        return builder;
    }

    /// <summary>Uses <see cref="RedisLeaseProvider"/> (fencing leases for leader election). Included in <c>UseRedisTransport</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisLeases(this IChitChatBuilder builder, Action<RedisChitChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddRedisCore(builder, configure);
        builder.Services.RemoveAll<ILeaseProvider>();
        builder.Services.AddSingleton<ILeaseProvider, RedisLeaseProvider>();
        return builder;
    }

    /// <summary>
    /// Counts rate limits (sends per user, register and login per client address) on Redis, so that each limit holds across
    /// every node rather than per node: a sliding-window log per key in <c>{KeyPrefix}rl:{policy}:{key}</c>, timed by the Redis
    /// server's clock. While Redis is unreachable each node limits on its own counts and logs a warning once.
    /// Included in <c>UseRedisTransport</c>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseRedisRateLimiter(this IChitChatBuilder builder, Action<RedisChitChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddRedisCore(builder, configure);
        builder.Services.RemoveAll<IChatRateLimiter>();
        builder.Services.AddSingleton<IChatRateLimiter, RedisChatRateLimiter>();
        return builder;
    }

    private static void AddRedisCore(IChitChatBuilder builder, Action<RedisChitChatOptions>? configure)
    {
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(RedisConnectionProvider)))
        {
            services.AddOptions<RedisChitChatOptions>()
                .BindConfiguration(RedisChitChatOptions.SectionName)
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisChitChatOptions>, RedisChitChatOptionsValidator>());
            services.TryAddSingleton(TimeProvider.System);
            services.AddSingleton(sp =>
            {
                var options = sp.GetRequiredService<IOptions<RedisChitChatOptions>>();
                var logger = sp.GetRequiredService<ILogger<RedisConnectionProvider>>();
                var configured = options.Value.ConfigurationOptions is not null || !string.IsNullOrWhiteSpace(options.Value.Configuration);
                return !configured && sp.GetService<IConnectionMultiplexer>() is { } existing
                    ? new RedisConnectionProvider(existing, logger)
                    : new RedisConnectionProvider(options, logger);
            });
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisConnectionWarmUpService>());
            services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", HealthStatus.Degraded, ["chitchat", "redis"]);
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }
    }
}
