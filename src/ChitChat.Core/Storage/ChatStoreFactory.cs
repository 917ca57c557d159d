namespace ChitChat.Storage;

/// <summary>The settings of one named store, as configured (e.g. <c>ChitChat:Replication:Replicas:{name}</c>).</summary>
public sealed class ChatStoreSettings
{
    /// <summary>Gets or sets the provider name: <c>Sqlite</c>, <c>MongoDB</c> or <c>InMemory</c>.</summary>
    public string Store { get; set; } = "Sqlite";

    /// <summary>Gets or sets the connection string.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the database name (providers that have one).</summary>
    public string? Database { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{Store} (database: {Database ?? "default"})"; // never the connection string: it may hold secrets
}

/// <summary>Creates stores of one provider from settings. Providers register one so that replication and configuration-driven hosts can build stores by name.</summary>
public interface IChatStoreFactory
{
    /// <summary>Gets the provider name this factory handles, compared ignoring case (e.g. <c>Sqlite</c>).</summary>
    string ProviderName { get; }

    /// <summary>Creates a store. The caller initializes it with <see cref="IChatStore.InitializeAsync"/> and disposes it when it implements <see cref="IAsyncDisposable"/>.</summary>
    /// <param name="name">A logical name for logs (e.g. <c>primary</c> or a replica name).</param>
    /// <param name="settings">The settings.</param>
    /// <returns>The store.</returns>
    IChatStore Create(string name, ChatStoreSettings settings);
}
