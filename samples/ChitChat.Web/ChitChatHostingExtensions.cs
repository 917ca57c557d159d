using ChitChat;

namespace ChitChat.Web;

/// <summary>Wires ChitChat from configuration: the one place that picks the store and the transport (keys in docs/protocol.md and PROTOCOL.md).</summary>
internal static class ChitChatHostingExtensions
{
    /// <summary>The default SQLite connection string, relative to the working directory.</summary>
    public const string DefaultSqliteConnectionString = "Data Source=data/chitchat.db";

    public static WebApplicationBuilder AddChitChatSample(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var chat = builder.Services.AddChitChat();
        UseConfiguredStore(chat, configuration);
        UseConfiguredTransport(chat, configuration);

        // Providers that ChitChat:Replication:Primary/Replicas can name by their Store key.
        chat.AddSqliteStoreProvider().AddMongoDBStoreProvider();
        if (configuration.GetValue("ChitChat:Replication:Enabled", false))
        {
            // The router replaces the store chosen above: writes to ChitChat:Replication:Primary, reads per
            // ChitChat:Replication:ReadPreference/MaxStaleness; the sync service runs here unless RunSync=false
            // (e.g. when samples/ChitChat.Worker runs it).
            chat.AddReplication();
        }
        chat.AddAspNetCore().AddLegacyApi(); // the ChitChat 1 API maps nothing unless ChitChat:Legacy:Enabled=true
        return builder;
    }

    /// <summary>Selects the store from <c>ChitChat:Store</c> (Sqlite by default, InMemory, MongoDB).</summary>
    private static void UseConfiguredStore(IChitChatBuilder chat, IConfiguration configuration)
    {
        var store = configuration["ChitChat:Store"] ?? "Sqlite";
        switch (store.ToUpperInvariant())
        {
            case "SQLITE":
                var connectionString = configuration["ChitChat:Sqlite:ConnectionString"] ?? DefaultSqliteConnectionString;
                chat.UseSqlite(connectionString);
                break;
            case "INMEMORY":
                chat.UseInMemoryStore();
                break;
            case "MONGODB":
                // Binds ChitChat:MongoDB:ConnectionString and :Database (validated at start-up).
                chat.UseMongoDB();
                break;
            default:
                throw new InvalidOperationException($"ChitChat:Store must be Sqlite, InMemory or MongoDB (was '{store}').");
        }
    }

    /// <summary>Selects the transport from <c>ChitChat:Transport</c> (InProcess by default, Redis).</summary>
    private static void UseConfiguredTransport(IChitChatBuilder chat, IConfiguration configuration)
    {
        var transport = configuration["ChitChat:Transport"] ?? "InProcess";
        switch (transport.ToUpperInvariant())
        {
            case "INPROCESS":
                chat.UseInProcessTransport();
                break;
            case "REDIS":
                // Binds ChitChat:Redis (Configuration, PresenceTimeout, ...): transport, cross-node presence and leases.
                chat.UseRedisTransport();
                break;
            default:
                throw new InvalidOperationException($"ChitChat:Transport must be InProcess or Redis (was '{transport}').");
        }
    }
}
