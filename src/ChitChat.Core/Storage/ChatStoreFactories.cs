using ChitChat.InMemory;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.Storage;

/// <summary>Builds stores by provider name from the registered <see cref="IChatStoreFactory"/> instances.</summary>
public static class ChatStoreFactories
{
    /// <summary>Creates a store with the factory registered for <see cref="ChatStoreSettings.Store"/>.</summary>
    /// <param name="services">The service provider.</param>
    /// <param name="name">A logical name for logs.</param>
    /// <param name="settings">The settings.</param>
    /// <returns>The store (not yet initialized).</returns>
    /// <exception cref="InvalidOperationException">No provider of that name is registered; the message lists those that are.</exception>
    public static IChatStore Create(IServiceProvider services, string name, ChatStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        var factories = services.GetServices<IChatStoreFactory>().ToArray();
        var factory = factories.FirstOrDefault(f => string.Equals(f.ProviderName, settings.Store, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException(
                $"ChitChat store '{name}': no provider named '{settings.Store}' is registered. Registered: {string.Join(", ", factories.Select(f => f.ProviderName))}. " +
                "Reference the provider package and call its registration (e.g. AddSqliteStoreProvider / UseSqlite).");
        return factory.Create(name, settings);
    }
}

internal sealed class InMemoryChatStoreFactory(TimeProvider time) : IChatStoreFactory
{
    public string ProviderName => "InMemory";

    public IChatStore Create(string name, ChatStoreSettings settings) => new InMemoryChatStore(time);
}
