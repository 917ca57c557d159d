using Microsoft.Extensions.Configuration;

namespace ChitChat.Providers;

/// <summary>What a provider supplies, and so which configuration key selects it.</summary>
public enum ChitChatProviderKind
{
    /// <summary>The store (<c>ChitChat:Store</c>, and the <c>Store</c> of each replication store).</summary>
    Store = 0,

    /// <summary>The transport, with the presence and leases that go with it (<c>ChitChat:Transport</c>).</summary>
    Transport = 1,

    /// <summary>Replication (<c>ChitChat:Replication:Enabled</c>).</summary>
    Replication = 2,
}

/// <summary>
/// Registers one provider when configuration selects it. Provider packages declare their implementations with
/// <see cref="ChitChatProviderAttribute"/>; applications do not use this interface.
/// </summary>
public interface IChitChatProviderRegistration
{
    /// <summary>Gets what the provider supplies.</summary>
    ChitChatProviderKind Kind { get; }

    /// <summary>Gets the provider name used in configuration, compared ignoring case (e.g. <c>Sqlite</c>, <c>Redis</c>).</summary>
    string Name { get; }

    /// <summary>Makes this provider the one in use for its <see cref="Kind"/>, configured from the <c>ChitChat</c> section.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The <c>ChitChat</c> configuration section.</param>
    void Configure(IChitChatBuilder builder, IConfigurationSection configuration);
}

/// <summary>A store provider, which replication can also use by name (<c>ChitChat:Replication:Replicas:{name}:Store</c>).</summary>
public interface IChitChatStoreProviderRegistration : IChitChatProviderRegistration
{
    /// <summary>
    /// Registers only the provider's <see cref="Storage.IChatStoreFactory"/>, without changing the store in use. Calling it more
    /// than once is harmless.
    /// </summary>
    /// <param name="builder">The builder.</param>
    void AddStoreFactory(IChitChatBuilder builder);
}
