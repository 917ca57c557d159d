using ChitChat.MongoDB;
using MongoDB.Driver;

namespace ChitChat.Replication.Tests.MongoDB;

/// <summary>
/// MongoDB stores for the replication tests, on the server in <c>CHITCHAT_MONGO_URI</c> (a visible skip without it), each in
/// its own database <c>chitchat_repl_{guid}</c> that <see cref="DisposeAsync"/> drops through a separate <see cref="MongoClient"/>.
/// </summary>
internal sealed class MongoReplicationServer : IAsyncDisposable
{
    public const string Variable = "CHITCHAT_MONGO_URI";

    public const string SkipReason = "MongoDB tests need CHITCHAT_MONGO_URI (e.g. mongodb://127.0.0.1:27017); no MongoDB server is available here.";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly List<string> _databases = [];
    private readonly List<MongoChatStore> _stores = [];

    private MongoReplicationServer(string uri) => Uri = uri;

    public string Uri { get; }

    /// <summary>Returns a server handle, or skips the current test with <see cref="SkipReason"/> when the variable is not set.</summary>
    public static MongoReplicationServer Require()
    {
        var uri = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(uri))
        {
            Assert.Skip(SkipReason);
        }

        return new MongoReplicationServer(uri);
    }

    /// <summary>A new database name, dropped at the end of the test.</summary>
    public string NewDatabase()
    {
        var name = $"chitchat_repl_{Guid.NewGuid():N}";
        _databases.Add(name);
        return name;
    }

    /// <summary>A store on <paramref name="database"/> (a new database when null); not initialized (the replication router does it).</summary>
    public MongoChatStore Store(string? database = null)
    {
        var store = MongoChatStore.Create(new MongoChatStoreOptions { ConnectionString = Uri, Database = database ?? NewDatabase() });
        _stores.Add(store);
        return store;
    }

    /// <summary>Disposes one store now (it is not disposed again at the end).</summary>
    public async Task CloseAsync(MongoChatStore store)
    {
        _stores.Remove(store);
        await store.DisposeAsync();
    }

    /// <summary>Drops a database behind the stores' back, as an operator wiping a replica would.</summary>
    public async Task DropDatabaseAsync(string database)
    {
        using var client = new MongoClient(Uri);
        await client.DropDatabaseAsync(database).WaitAsync(Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
        using var client = new MongoClient(Uri);
        foreach (var database in _databases)
        {
            await client.DropDatabaseAsync(database).WaitAsync(Timeout);
        }
    }
}
