using ChitChat;
using ChitChat.AspNetCore.Legacy;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ChitChat 1 compatible API.</summary>
public static class ChitChatLegacyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services of the ChitChat 1 compatible API (package <c>ChitChat.AspNetCore.Legacy</c>): options bound from
    /// <c>ChitChat:Legacy</c> and validated at start-up, CORS, the room alias directory, the legacy WebSockets as a sink of
    /// the delivery engine, and the rate limiting policy of <c>/register/</c> and <c>/login/</c>. Call it after
    /// <c>AddAspNetCore()</c>; map the endpoints with <c>app.MapChitChatLegacy()</c> after <c>app.UseChitChat()</c>. They are
    /// only mapped when <see cref="LegacyApiOptions.Enabled"/> is true. Calling it more than once is harmless; each call
    /// applies its <paramref name="configure"/> delegate. See <c>docs/legacy.md</c>.
    /// </summary>
    /// <param name="builder">The ChitChat builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder AddLegacyApi(this IChitChatBuilder builder, Action<LegacyApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(LegacyHttpApi)))
        {
            services.AddOptions<LegacyApiOptions>()
                .BindConfiguration(LegacyApiOptions.SectionName)
                .ValidateDataAnnotations()
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LegacyApiOptions>, LegacyApiOptionsValidator>());
            services.AddCors();
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<LegacyRoomDirectory>();
            services.TryAddSingleton<LegacyDeliverySink>();
            services.TryAddSingleton<LegacyWebSocketHub>();
            services.TryAddSingleton<LegacyHttpApi>();
            services.AddRateLimiter(limiter => limiter.AddPolicy<string, LegacyAuthRateLimitPolicy>(LegacyAuthRateLimitPolicy.Name));
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }
}
