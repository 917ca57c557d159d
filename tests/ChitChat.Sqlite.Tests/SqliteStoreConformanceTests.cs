using ChitChat.Specification.Tests;
using ChitChat.Storage;

namespace ChitChat.Sqlite.Tests;

/// <summary>Runs the store conformance suite against real SQLite files in a temporary directory.</summary>
public sealed class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _directory = new();
    private int _files;
    private bool _sameFile;

    protected override async Task<IChatStore> CreateStoreAsync()
    {
        var file = _sameFile ? _directory.File("store1.db") : _directory.File($"store{++_files}.db");
        var store = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={file}" });
        await store.InitializeAsync(TestContext.Current.CancellationToken);
        return store;
    }

    /// <summary>A second store instance (its own writer loop and connections, as another process has) on the test store's file.</summary>
    protected override async Task<IChatStore?> OpenSecondInstanceAsync()
    {
        _sameFile = true;
        try
        {
            return await NewStoreAsync();
        }
        finally
        {
            _sameFile = false;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
