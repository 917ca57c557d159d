using ChitChat;
using ChitChat.AspNetCore.Legacy;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ChitChat 1 compatible API.</summary>
public static class ChitChatLegacyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services of the ChitChat 1 compatible API: options bound from <c>ChitChat:Legacy</c> and validated at
    /// start-up, CORS, the room alias directory and the legacy WebSocket rooms. Map the endpoints with
    /// <c>app.MapChitChatLegacy()</c>; they are only mapped when <see cref="LegacyApiOptions.Enabled"/> is true.
    /// Calling it more than once is harmless; each call applies its <paramref name="configure"/> delegate.
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
            services.TryAddSingleton<LegacyWebSocketHub>();
            services.TryAddSingleton<LegacyHttpApi>();
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }
}
