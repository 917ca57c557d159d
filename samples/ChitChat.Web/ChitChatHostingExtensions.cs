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
        chat.AddAspNetCore();
        return builder;
    }

    /// <summary>Selects the store from <c>ChitChat:Store</c> (Sqlite by default, InMemory, MongoDB) and <c>ChitChat:Replication:Enabled</c>.</summary>
    private static void UseConfiguredStore(IChitChatBuilder chat, IConfiguration configuration)
    {
        if (configuration.GetValue("ChitChat:Replication:Enabled", false))
        {
            // TODO(integrator): wire ChitChat.Replication here (primary + replicas from ChitChat:Replication:*).
            throw new InvalidOperationException("ChitChat:Replication:Enabled=true is not available in this build of the sample yet.");
        }

        var store = configuration["ChitChat:Store"] ?? "Sqlite";
        switch (store.ToUpperInvariant())
        {
            case "SQLITE":
                var connectionString = configuration["ChitChat:Sqlite:ConnectionString"] ?? DefaultSqliteConnectionString;
                _ = connectionString;
                // TODO(integrator): UseSqlite — replace the next line with: chat.UseSqlite(connectionString);
                chat.UseInMemoryStore();
                break;
            case "INMEMORY":
                chat.UseInMemoryStore();
                break;
            case "MONGODB":
                // TODO(integrator): chat.UseMongoDB(configuration["ChitChat:MongoDB:ConnectionString"], configuration["ChitChat:MongoDB:Database"]);
                throw new InvalidOperationException("ChitChat:Store=MongoDB is not available in this build of the sample yet.");
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
                // TODO(integrator): chat.UseRedisTransport(configuration["ChitChat:Redis:Configuration"]);
                throw new InvalidOperationException("ChitChat:Transport=Redis is not available in this build of the sample yet.");
            default:
                throw new InvalidOperationException($"ChitChat:Transport must be InProcess or Redis (was '{transport}').");
        }
    }
}
