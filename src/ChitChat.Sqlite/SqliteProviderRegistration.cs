using ChitChat.Providers;
using ChitChat.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: ChitChatProvider(typeof(SqliteProviderRegistration))]

namespace ChitChat.Sqlite;

/// <summary><c>ChitChat:Store=Sqlite</c>, the default store of <c>builder.AddChitChat()</c>; and <c>Store=Sqlite</c> in replication.</summary>
internal sealed class SqliteProviderRegistration : IChitChatStoreProviderRegistration
{
    /// <summary>The connection string used when <c>ChitChat:Sqlite:ConnectionString</c> is not set (relative to the working directory).</summary>
    public const string DefaultConnectionString = "Data Source=data/chitchat.db";

    public ChitChatProviderKind Kind => ChitChatProviderKind.Store;

    public string Name => "Sqlite";

    public void Configure(IChitChatBuilder builder, IConfigurationSection configuration) =>
        SqliteChitChatBuilderExtensions.UseSqliteStore(builder, static o =>
        {
            if (string.IsNullOrWhiteSpace(o.ConnectionString))
            {
                o.ConnectionString = DefaultConnectionString;
            }
        });

    public void AddStoreFactory(IChitChatBuilder builder) => builder.AddSqliteStoreProvider();
}
