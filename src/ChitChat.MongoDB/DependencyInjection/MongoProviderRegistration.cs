using ChitChat.MongoDB;
using ChitChat.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: ChitChatProvider(typeof(MongoProviderRegistration))]

namespace ChitChat.MongoDB;

/// <summary><c>ChitChat:Store=MongoDB</c> (options from <c>ChitChat:MongoDB</c>); and <c>Store=MongoDB</c> in replication.</summary>
internal sealed class MongoProviderRegistration : IChitChatStoreProviderRegistration
{
    public ChitChatProviderKind Kind => ChitChatProviderKind.Store;

    public string Name => "MongoDB";

    public void Configure(IChitChatBuilder builder, IConfigurationSection configuration) =>
        ChitChatMongoDBBuilderExtensions.UseMongoDBStore(builder, static _ => { });

    public void AddStoreFactory(IChitChatBuilder builder) => builder.AddMongoDBStoreProvider();
}
