using ChitChat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Sqlite;

/// <summary>Builds SQLite stores from <see cref="ChatStoreSettings"/> (provider name <c>Sqlite</c>).</summary>
internal sealed class SqliteChatStoreFactory(IServiceProvider services) : IChatStoreFactory
{
    public string ProviderName => "Sqlite";

    public IChatStore Create(string name, ChatStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            throw new OptionsValidationException(name, typeof(SqliteStoreOptions), [$"ChitChat store '{name}' (Sqlite): a connection string is required, e.g. 'Data Source=data/{name}.db'."]);
        }

        var options = new SqliteStoreOptions { ConnectionString = settings.ConnectionString };
        return new SqliteChatStore(
            options,
            (TimeProvider?)services.GetService(typeof(TimeProvider)),
            (ILogger<SqliteChatStore>?)services.GetService(typeof(ILogger<SqliteChatStore>)),
            name);
    }
}
