using ChitChat.MongoDB;
using MongoDB.Driver;

namespace ChitChat.MongoDB.Tests;

/// <summary>The MongoDB server for integration tests: <c>CHITCHAT_MONGO_URI</c>, or a visible skip when it is not set.</summary>
internal static class MongoTestServer
{
    public const string Variable = "CHITCHAT_MONGO_URI";

    public const string SkipReason = "MongoDB tests need CHITCHAT_MONGO_URI (e.g. mongodb://127.0.0.1:27017); no MongoDB server is available here.";

    /// <summary>Returns the server's connection string, or skips the current test with the reason.</summary>
    public static string RequireUri()
    {
        var uri = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(uri))
        {
            Assert.Skip(SkipReason);
        }

        return uri;
    }

    /// <summary>Creates and initializes a store in a new database <c>chitchat_test_{guid}</c>; drop it with <see cref="DropAsync"/>.</summary>
    public static async Task<MongoChatStore> CreateStoreAsync(string? database = null, Action<MongoChatStoreOptions>? configure = null)
    {
        var options = new MongoChatStoreOptions
        {
            ConnectionString = RequireUri(),
            Database = database ?? $"chitchat_test_{Guid.NewGuid():N}",
        };
        configure?.Invoke(options);
        var store = MongoChatStore.Create(options);
        await store.InitializeAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        return store;
    }

    /// <summary>Drops the store's database (idempotent) and disposes the store.</summary>
    public static async Task DropAsync(MongoChatStore store)
    {
        try
        {
            await store.Database.Client.DropDatabaseAsync(store.Database.DatabaseNamespace.DatabaseName).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            store.Dispose();
        }
    }
}
