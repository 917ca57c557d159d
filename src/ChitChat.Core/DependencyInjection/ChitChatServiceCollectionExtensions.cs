using System.Diagnostics.Metrics;
using ChitChat;
using ChitChat.Accounts;
using ChitChat.Delivery;
using ChitChat.Diagnostics;
using ChitChat.History;
using ChitChat.Hosting;
using ChitChat.InMemory;
using ChitChat.Leases;
using ChitChat.Membership;
using ChitChat.Messaging;
using ChitChat.ReadState;
using ChitChat.Search;
using ChitChat.Presence;
using ChitChat.RateLimiting;
using ChitChat.Rooms;
using ChitChat.Security;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ChitChat's core services.</summary>
public static class ChitChatServiceCollectionExtensions
{
    /// <summary>
    /// Adds ChitChat: its services (<see cref="AccountService"/>, <see cref="RoomService"/>, <see cref="MessageSender"/>,
    /// <see cref="HistoryService"/>, <see cref="PresenceService"/>) and the delivery engine, options bound from the
    /// <c>ChitChat</c> configuration section and validated at start-up, and the single-node defaults (in-memory store,
    /// in-process transport, in-memory presence, leases and rate limits), which
    /// providers replace. Calling it more than once is harmless; each call applies its <paramref name="configure"/> delegate.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The builder for chaining provider registrations.</returns>
    public static IChitChatBuilder AddChitChat(this IServiceCollection services, Action<ChitChatOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        if (!services.Any(d => d.ServiceType == typeof(ChitChatMarker)))
        {
            services.AddSingleton<ChitChatMarker>();
            services.AddOptions<ChitChatOptions>()
                .ValidateDataAnnotations()
                .ValidateOnStart();

            // Binds the ChitChat section like BindConfiguration would, but also works without an IConfiguration
            // (a plain ServiceCollection in a console tool or a test), where BindConfiguration throws on first use.
            services.AddSingleton<IConfigureOptions<ChitChatOptions>>(sp => new ConfigureOptions<ChitChatOptions>(
                o => sp.GetService<IConfiguration>()?.GetSection(ChitChatOptions.SectionName).Bind(o)));
            services.AddSingleton<IOptionsChangeTokenSource<ChitChatOptions>>(sp => sp.GetService<IConfiguration>() is { } configuration
                ? new ConfigurationChangeTokenSource<ChitChatOptions>(configuration)
                : new NoChangeTokenSource());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChitChatOptions>, ChitChatOptionsValidator>());

            services.AddMetrics();
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton(sp => ChitChatMetrics.For(sp.GetRequiredService<IMeterFactory>()));
            services.TryAddSingleton<IPasswordHasher, Pbkdf2PasswordHasher>();
            services.TryAddSingleton<IChatStore>(sp => new InMemoryChatStore(sp.GetRequiredService<TimeProvider>()));
            services.TryAddSingleton<IChatTransport, InProcessTransport>();
            services.TryAddSingleton<IPresenceTracker, InMemoryPresenceTracker>();
            services.TryAddSingleton<ILeaseProvider, InMemoryLeaseProvider>();
            services.TryAddSingleton<IChatRateLimiter>(sp => new InMemoryChatRateLimiter(sp.GetRequiredService<TimeProvider>()));
            services.TryAddSingleton<AccountService>();
            services.TryAddSingleton<RoomService>();
            services.TryAddSingleton<MembershipService>();
            services.TryAddSingleton<MessageSender>();
            services.TryAddSingleton<HistoryService>();
            services.TryAddSingleton<MessageOperations>();
            services.TryAddSingleton<ReadStateService>();
            services.TryAddSingleton<SearchService>();
            services.TryAddSingleton<PresenceService>();

            // The delivery engine: what each local connection receives (ChitChat:Delivery).
            services.AddOptions<DeliveryOptions>()
                .ValidateDataAnnotations()
                .ValidateOnStart();
            services.AddSingleton<IConfigureOptions<DeliveryOptions>>(sp => new ConfigureOptions<DeliveryOptions>(
                o => sp.GetService<IConfiguration>()?.GetSection(DeliveryOptions.SectionName).Bind(o)));
            services.TryAddSingleton<DefaultDeliveryEngine>(sp => new DefaultDeliveryEngine(
                sp.GetRequiredService<IChatTransport>(),
                sp.GetRequiredService<IChatStore>(),
                sp.GetRequiredService<PresenceService>(),
                sp.GetRequiredService<HistoryService>(),
                sp.GetRequiredService<IOptions<DeliveryOptions>>(),
                sp.GetRequiredService<ChitChatMetrics>(),
                sp.GetRequiredService<ILogger<DefaultDeliveryEngine>>(),
                sp.GetRequiredService<TimeProvider>()));
            services.TryAddSingleton<DeliveryEngine>(sp => sp.GetRequiredService<DefaultDeliveryEngine>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatStoreFactory, InMemoryChatStoreFactory>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChitChatInitializer>());
            services.AddHealthChecks()
                .AddCheck<ChatStoreHealthCheck>("store", HealthStatus.Unhealthy, ["chitchat", "store"])
                .AddCheck<ChatTransportHealthCheck>("transport", HealthStatus.Degraded, ["chitchat", "transport"]);
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return new ChitChatBuilder(services);
    }

    /// <summary>Uses the in-memory store (the default): nothing survives a restart.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseInMemoryStore(this IChitChatBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IChatStore>();
        builder.Services.AddSingleton<IChatStore>(sp => new InMemoryChatStore(sp.GetRequiredService<TimeProvider>()));
        return builder;
    }

    /// <summary>Uses the given store instance (e.g. one built by a provider factory or a router).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseStore(this IChitChatBuilder builder, Func<IServiceProvider, IChatStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<IChatStore>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>
    /// Uses the store named by configuration: <paramref name="settings"/>.<see cref="ChatStoreSettings.Store"/> picks one of the
    /// registered <see cref="IChatStoreFactory"/> providers (e.g. <c>Sqlite</c>, <c>MongoDB</c>, <c>InMemory</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="settings">The store settings.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseStore(this IChitChatBuilder builder, ChatStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        return builder.UseStore(sp => ChatStoreFactories.Create(sp, "default", settings));
    }

    /// <summary>Uses the in-process transport (the default): events reach this process only.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseInProcessTransport(this IChitChatBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IChatTransport>();
        builder.Services.AddSingleton<IChatTransport, InProcessTransport>();
        return builder;
    }

    private sealed class ChitChatMarker;

    private sealed class NoChangeTokenSource : IOptionsChangeTokenSource<ChitChatOptions>
    {
        public string Name => string.Empty;

        public IChangeToken GetChangeToken() => new CancellationChangeToken(CancellationToken.None);
    }
}
