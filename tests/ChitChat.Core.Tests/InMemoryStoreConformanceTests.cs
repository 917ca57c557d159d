using ChitChat.InMemory;
using ChitChat.Specification.Tests;
using ChitChat.Storage;

namespace ChitChat.Core.Tests;

/// <summary>Runs the store conformance suite against the in-memory reference store.</summary>
public sealed class InMemoryStoreConformanceTests : StoreConformanceTests
{
    protected override async Task<IChatStore> CreateStoreAsync()
    {
        var store = new InMemoryChatStore();
        await store.InitializeAsync(TestContext.Current.CancellationToken);
        return store;
    }
}
