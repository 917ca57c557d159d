using ChitChat.MongoDB;
using ChitChat.Specification.Tests;
using ChitChat.Storage;

namespace ChitChat.MongoDB.Tests;

/// <summary>
/// Runs the shared store conformance suite against the MongoDB server in <c>CHITCHAT_MONGO_URI</c>, each store in its own
/// database (<c>chitchat_test_{guid}</c>, dropped afterwards). Without the variable every test is reported as skipped.
/// </summary>
public sealed class MongoStoreConformanceTests : StoreConformanceTests
{
    protected override async Task<IChatStore> CreateStoreAsync() => await MongoTestServer.CreateStoreAsync();

    protected override async ValueTask DisposeStoreAsync(IChatStore store) => await MongoTestServer.DropAsync((MongoChatStore)store);
}
