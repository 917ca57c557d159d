using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChitChat.Providers;

/// <summary>
/// Applies <c>ChitChat:Store</c>, <c>ChitChat:Transport</c> and <c>ChitChat:Replication</c> to a builder: the one place that
/// turns configuration into provider registrations.
/// </summary>
/// <remarks>
/// A value that names no provider, or a provider whose package is not referenced, does not throw here: it registers a
/// store (or transport, or store factory) that throws the explanation when it is first resolved, which the host does at
/// start-up. So an explicit <c>Use*</c> call after <c>AddChitChat</c>, which replaces that registration, still wins over a
/// configuration that could not be honoured.
/// </remarks>
internal static class ChitChatProviderSelection
{
    /// <summary>The store used when <c>ChitChat:Store</c> is not set.</summary>
    public const string DefaultStore = "Sqlite";

    /// <summary>The transport used when neither <c>ChitChat:Transport</c> nor <c>ChitChat:Redis:Configuration</c> is set.</summary>
    public const string DefaultTransport = "InProcess";

    /// <summary>The transport used when <c>ChitChat:Transport</c> is not set but <c>ChitChat:Redis:Configuration</c> is.</summary>
    public const string RedisTransport = "Redis";

    /// <summary>Registers the configured providers, once per service collection.</summary>
    /// <param name="builder">The builder returned by <c>AddChitChat</c>.</param>
    /// <param name="configuration">The application's configuration.</param>
    /// <param name="catalog">The providers configuration can name.</param>
    public static void Apply(IChitChatBuilder builder, IConfiguration configuration, ChitChatProviderCatalog catalog)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(SelectionMarker)))
        {
            return;
        }

        services.AddSingleton<SelectionMarker>();
        var section = configuration.GetSection(ChitChatOptions.SectionName);

        var store = NonEmpty(section["Store"]) ?? DefaultStore;
        var storeProvider = catalog.Resolve(ChitChatProviderKind.Store, store, $"{ChitChatOptions.SectionName}:Store");
        if (storeProvider.Registration is { } storeRegistration)
        {
            storeRegistration.Configure(builder, section);
        }
        else
        {
            builder.UseStore(_ => throw new InvalidOperationException(storeProvider.Error));
        }

        var transport = NonEmpty(section["Transport"])
            ?? (NonEmpty(section["Redis:Configuration"]) is null ? DefaultTransport : RedisTransport);
        var transportProvider = catalog.Resolve(ChitChatProviderKind.Transport, transport, $"{ChitChatOptions.SectionName}:Transport");
        if (transportProvider.Registration is { } transportRegistration)
        {
            transportRegistration.Configure(builder, section);
        }
        else
        {
            services.RemoveAll<IChatTransport>();
            services.AddSingleton<IChatTransport>(_ => throw new InvalidOperationException(transportProvider.Error));
        }

        var replication = section.GetSection("Replication");
        if (replication.GetValue("Enabled", false))
        {
            ApplyReplication(builder, section, replication, catalog);
        }
    }

    private static void ApplyReplication(IChitChatBuilder builder, IConfigurationSection section, IConfigurationSection replication, ChitChatProviderCatalog catalog)
    {
        // The stores replication builds by name need their providers' factories, registered before the router.
        var stores = new List<IConfigurationSection>();
        if (replication.GetSection("Primary").Exists())
        {
            stores.Add(replication.GetSection("Primary"));
        }

        stores.AddRange(replication.GetSection("Replicas").GetChildren());
        var named = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var store in stores)
        {
            var name = NonEmpty(store["Store"]) ?? new ChatStoreSettings().Store;
            if (!named.Add(name))
            {
                continue;
            }

            var provider = catalog.Resolve(ChitChatProviderKind.Store, name, $"{store.Path}:Store");
            switch (provider)
            {
                case { Registration: IChitChatStoreProviderRegistration registration }:
                    registration.AddStoreFactory(builder);
                    break;
                case { Registration: { } other }:
                    AddUnavailableFactory(builder, name, $"{store.Path}:Store is '{name}' but that provider ({other.GetType().Assembly.GetName().Name}) cannot build stores by name.");
                    break;
                default:
                    AddUnavailableFactory(builder, name, provider.Error!);
                    break;
            }
        }

        var replicationProvider = catalog.Resolve(ChitChatProviderKind.Replication, "true", $"{replication.Path}:Enabled");
        if (replicationProvider.Registration is { } replicationRegistration)
        {
            replicationRegistration.Configure(builder, section);
        }
        else
        {
            builder.UseStore(_ => throw new InvalidOperationException(replicationProvider.Error));
        }
    }

    private static void AddUnavailableFactory(IChitChatBuilder builder, string name, string error) =>
        builder.Services.AddSingleton<IChatStoreFactory>(sp => new UnavailableStoreFactory(sp, name, error));

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private sealed class SelectionMarker;

    /// <summary>
    /// Stands for a store provider that configuration names but that is not available; building a store with it throws
    /// the explanation, unless the application registered a real factory of that name itself (explicit wins).
    /// </summary>
    private sealed class UnavailableStoreFactory(IServiceProvider services, string name, string error) : IChatStoreFactory
    {
        public string ProviderName { get; } = name;

        public IChatStore Create(string name, ChatStoreSettings settings)
        {
            var real = services.GetServices<IChatStoreFactory>()
                .FirstOrDefault(f => f is not UnavailableStoreFactory && string.Equals(f.ProviderName, ProviderName, StringComparison.OrdinalIgnoreCase));
            return real?.Create(name, settings) ?? throw new InvalidOperationException(error);
        }
    }
}
