using ChitChat.Specification.Tests;
using ChitChat.Storage;

namespace ChitChat.Sqlite.Tests;

/// <summary>Runs the store conformance suite against real SQLite files in a temporary directory.</summary>
public sealed class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _directory = new();
    private int _files;

    protected override async Task<IChatStore> CreateStoreAsync()
    {
        var store = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={_directory.File($"store{++_files}.db")}" });
        await store.InitializeAsync(TestContext.Current.CancellationToken);
        return store;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
