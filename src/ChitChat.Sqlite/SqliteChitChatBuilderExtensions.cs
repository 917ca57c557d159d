using ChitChat;
using ChitChat.Sqlite;
using ChitChat.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite store on the ChitChat builder.</summary>
public static class SqliteChitChatBuilderExtensions
{
    /// <summary>Uses a SQLite file as the store (replacing the in-memory default).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The connection string, e.g. <c>Data Source=data/chitchat.db</c>.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseSqlite(this IChitChatBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(o => o.ConnectionString = connectionString);
    }

    /// <summary>
    /// Uses a SQLite file as the store (replacing the in-memory default). The options bind from the configuration section
    /// <c>ChitChat:Sqlite</c>, then <paramref name="configure"/> runs; they are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseSqlite(this IChitChatBuilder builder, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SqliteStoreOptions>().ValidateOnStart();
        return UseSqliteStore(builder, configure);
    }

    /// <summary>
    /// Registers the SQLite store without validating its options at start-up on their own: they are validated when the
    /// store is created (which the host does at start-up), so an explicit <c>Use*</c> call that replaces this store also
    /// drops the requirement of a valid SQLite configuration.
    /// </summary>
    internal static IChitChatBuilder UseSqliteStore(IChitChatBuilder builder, Action<SqliteStoreOptions> configure)
    {
        var services = builder.Services;
        services.AddOptions<SqliteStoreOptions>()
            .BindConfiguration(SqliteStoreOptions.SectionName)
            .Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        services.RemoveAll<IChatStore>();

        // The container owns the store and disposes it (DisposeAsync commits the queued writes and closes the file).
        services.AddSingleton<IChatStore>(sp => new SqliteChatStore(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<SqliteChatStore>>(),
            "default"));
        return builder.AddSqliteStoreProvider();
    }

    /// <summary>
    /// Registers only the <see cref="IChatStoreFactory"/> named <c>Sqlite</c>, so configuration-driven hosts and replication
    /// can build SQLite stores by name (<see cref="ChatStoreSettings.Store"/> = <c>Sqlite</c>). Calling it more than once is harmless.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder AddSqliteStoreProvider(this IChitChatBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatStoreFactory, SqliteChatStoreFactory>());
        return builder;
    }
}
