using ChitChat;
using ChitChat.MongoDB;
using ChitChat.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MongoDB.Driver;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ChitChat's MongoDB store.</summary>
public static class ChitChatMongoDBBuilderExtensions
{
    /// <summary>
    /// Uses MongoDB as the store, configured from the <c>ChitChat:MongoDB</c> configuration section
    /// (<c>ConnectionString</c>, <c>Database</c>, ...), or from an <see cref="IMongoClient"/> registered in the service collection.
    /// Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseMongoDB(this IChitChatBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseMongoDB(static _ => { });
    }

    /// <summary>Uses MongoDB as the store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The connection string, e.g. <c>mongodb://127.0.0.1:27017</c>.</param>
    /// <param name="database">The database name.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseMongoDB(this IChitChatBuilder builder, string connectionString, string database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentNullException.ThrowIfNull(database);
        return builder.UseMongoDB(o =>
        {
            o.ConnectionString = connectionString;
            o.Database = database;
        });
    }

    /// <summary>
    /// Uses MongoDB as the store, with options bound from <c>ChitChat:MongoDB</c> and then adjusted by <paramref name="configure"/>.
    /// With <see cref="MongoChatStoreOptions.UseClientFromServices"/> (or no connection string and an <see cref="IMongoClient"/>
    /// registered), the registered client is used and never disposed by ChitChat; otherwise the store creates and owns its client.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder UseMongoDB(this IChitChatBuilder builder, Action<MongoChatStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<MongoChatStoreOptions>().ValidateOnStart();
        return UseMongoDBStore(builder, configure);
    }

    /// <summary>
    /// Registers the MongoDB store without validating its options at start-up on their own: they are validated when the
    /// store is created (which the host does at start-up), so an explicit <c>Use*</c> call that replaces this store also
    /// drops the requirement of a valid MongoDB configuration.
    /// </summary>
    internal static IChitChatBuilder UseMongoDBStore(IChitChatBuilder builder, Action<MongoChatStoreOptions> configure)
    {
        builder.AddMongoDBStoreProvider();
        var services = builder.Services;
        services.Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MongoChatStoreOptions>, MongoChatStoreOptionsValidator>());
        services.TryAddSingleton(CreateStore);
        services.RemoveAll<IChatStore>();
        services.AddSingleton<IChatStore>(sp => sp.GetRequiredService<MongoChatStore>());
        return builder;
    }

    /// <summary>
    /// Registers the MongoDB <see cref="IChatStoreFactory"/> (provider name <c>MongoDB</c>) so that configuration-driven hosts
    /// (<c>ChitChat:Store=MongoDB</c>) and replication can build MongoDB stores from <see cref="ChatStoreSettings"/>. Does not
    /// change the store in use. Calling it more than once is harmless.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder AddMongoDBStoreProvider(this IChitChatBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(MongoProviderMarker)))
        {
            services.AddSingleton<MongoProviderMarker>();
            services.AddOptions<MongoChatStoreOptions>().BindConfiguration(MongoChatStoreOptions.SectionName);
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatStoreFactory, MongoChatStoreFactory>());
        }

        return builder;
    }

    private static MongoChatStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<MongoChatStoreOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var loggerFactory = services.GetService<ILoggerFactory>();
        if (options.UseClientFromServices || string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            var client = services.GetService<IMongoClient>()
                ?? throw new InvalidOperationException($"{MongoChatStoreOptions.SectionName}: no ConnectionString is configured and no IMongoClient is registered.");
            return new MongoChatStore(client, ownsClient: false, options, url: null, time, loggerFactory?.CreateLogger<MongoChatStore>());
        }

        return MongoChatStore.Create(options, time, loggerFactory);
    }

    private sealed class MongoProviderMarker;
}
