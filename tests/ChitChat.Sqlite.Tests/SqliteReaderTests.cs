using ChitChat.Storage;
using Microsoft.Extensions.Options;

namespace ChitChat.Sqlite.Tests;

/// <summary>
/// Reads run on the store's dedicated reader threads: never on the caller's thread or a thread-pool thread, cancellable
/// until a reader starts them, failed with <see cref="ObjectDisposedException"/> when the store is disposed first. Busy
/// readers are held with gates (a read that blocks until the test opens it), never with timing.
/// </summary>
public sealed class SqliteReaderTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Reads_run_on_the_stores_reader_threads_not_on_the_caller_or_the_thread_pool()
    {
        await using var store = await OpenAsync(readers: 2);
        var caller = Environment.CurrentManagedThreadId;

        var threads = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => store.ReadAsync(static _ => Thread.CurrentThread, default))).WaitAsync(Timeout);

        Assert.All(threads, t =>
        {
            Assert.False(t.IsThreadPoolThread);
            Assert.True(t.IsBackground);
            Assert.StartsWith("ChitChat.Sqlite reader test #", t.Name, StringComparison.Ordinal);
            Assert.NotEqual(caller, t.ManagedThreadId);
        });
        Assert.InRange(threads.Distinct().Count(), 1, 2);
        Assert.Equal(2, store.ReaderThreads);
    }

    [Fact]
    public async Task A_read_waits_for_a_free_reader_thread_instead_of_running_on_the_callers_thread()
    {
        await using var store = await OpenAsync(readers: 2);
        await store.Messages.AppendAsync(Message("waits", "one")).WaitAsync(Timeout);

        using var busy = await ReadersHeld.StartAsync(store, 2);

        // Every reader is held: a read that ran on the calling thread (synchronous I/O behind an already completed task)
        // would be complete here.
        var lastSeq = store.Messages.GetLastSeqAsync("waits");
        var page = store.Messages.QueryAsync("waits", new MessageQuery(null, null, 10));
        Assert.False(lastSeq.IsCompleted);
        Assert.False(page.IsCompleted);

        busy.Release();
        Assert.All(await busy.Completion.WaitAsync(Timeout), Assert.True);
        Assert.Equal(1, await lastSeq.WaitAsync(Timeout));
        Assert.Equal("one", Assert.Single(await page.WaitAsync(Timeout)).Text);
    }

    [Fact]
    public async Task A_read_cancelled_before_a_reader_starts_it_is_cancelled_at_once_and_never_runs()
    {
        await using var store = await OpenAsync(readers: 1);
        var ran = 0;

        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            var early = store.ReadAsync(_ => Interlocked.Increment(ref ran), cancelled.Token);
            Assert.True(early.IsCanceled);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.Messages.GetLastSeqAsync("r", cancelled.Token));
        }

        using var busy = await ReadersHeld.StartAsync(store, 1);
        using var cts = new CancellationTokenSource();
        var queued = store.ReadAsync(_ => Interlocked.Increment(ref ran), cts.Token);
        var sentinel = store.ReadAsync(static _ => "sentinel", default); // queued behind it, on the one reader
        Assert.False(queued.IsCompleted);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.WaitAsync(Timeout)); // while the reader is still held
        Assert.True(queued.IsCanceled);
        Assert.False(sentinel.IsCompleted);

        busy.Release();
        Assert.Equal("sentinel", await sentinel.WaitAsync(Timeout));
        Assert.Equal(0, Volatile.Read(ref ran)); // the reader reached the sentinel without running the cancelled read
    }

    [Fact]
    public async Task Disposal_fails_queued_reads_lets_the_running_one_finish_and_then_refuses_reads()
    {
        var store = await OpenAsync(readers: 1);
        await store.Messages.AppendAsync(Message("disposal", "kept")).WaitAsync(Timeout);
        using var busy = await ReadersHeld.StartAsync(store, 1);
        var queued = store.Messages.GetLastSeqAsync("disposal");

        var disposal = store.DisposeAsync().AsTask();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued.WaitAsync(Timeout));
        Assert.False(disposal.IsCompleted); // the running read still holds its connection
        busy.Release();
        Assert.True(Assert.Single(await busy.Completion.WaitAsync(Timeout))); // finished normally
        await disposal.WaitAsync(Timeout);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Messages.GetLastSeqAsync("disposal").WaitAsync(Timeout));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.PingAsync().WaitAsync(Timeout));
        Directory.Delete(_directory.Path, recursive: true); // every reader closed its connection
    }

    [Fact]
    public async Task Readers_see_every_committed_append_while_the_writer_keeps_appending()
    {
        await using var store = await OpenAsync(readers: 2);
        const int total = 300;
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                await store.Messages.AppendAsync(Message("live", $"m{i}")).ConfigureAwait(false);
            }
        });

        // Each read sees a committed prefix: gap-free, never behind an earlier read.
        long seen = 0;
        while (seen < total)
        {
            var last = await store.Messages.GetLastSeqAsync("live").WaitAsync(Timeout);
            Assert.True(last >= seen, $"the last seq went back from {seen} to {last}");
            var page = await store.Messages.QueryAsync("live", new MessageQuery(0, null, total)).WaitAsync(Timeout);
            Assert.True(page.Count >= last, $"a page read after last seq {last} has {page.Count} messages");
            Assert.Equal(Enumerable.Range(1, page.Count).Select(i => (long)i), page.Select(m => m.Seq));
            seen = page.Count;
            Assert.False(writer.IsFaulted, writer.Exception?.ToString());
        }

        await writer.WaitAsync(Timeout);
    }

    [Fact]
    public async Task InitializeAsync_does_not_block_the_caller_while_the_file_is_locked()
    {
        var file = _directory.File("init.db");
        await using (var first = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={file}" }))
        {
            await first.InitializeAsync().WaitAsync(Timeout); // an existing WAL file
        }

        await using var store = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={file}", BusyTimeout = TimeSpan.FromMinutes(5) });
        Task initialization;
        using (var locker = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
        {
            locker.Open();
            using var hold = locker.BeginTransaction(deferred: false); // the migration's BEGIN IMMEDIATE waits for it
            initialization = store.InitializeAsync();
            Assert.False(initialization.IsCompleted);
            hold.Commit();
        }

        await initialization.WaitAsync(Timeout);
        Assert.Equal(0, await store.Messages.GetLastSeqAsync("r").WaitAsync(Timeout));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void A_reader_thread_count_out_of_range_is_refused(int readers)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => new SqliteChatStore(new SqliteStoreOptions { ConnectionString = "Data Source=x.db", ReaderThreads = readers }));
        Assert.Contains("ReaderThreads", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_reader_thread_count_is_at_most_four()
    {
        Assert.Equal(Math.Min(4, Environment.ProcessorCount), new SqliteStoreOptions().ReaderThreads);
    }

    private async Task<SqliteChatStore> OpenAsync(int readers)
    {
        var store = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={_directory.File("readers.db")}", ReaderThreads = readers }, name: "test");
        await store.InitializeAsync().WaitAsync(Timeout);
        return store;
    }

    private static NewMessage Message(string room, string text) =>
        new(Guid.CreateVersion7(), room, Guid.CreateVersion7(), "tester", text, DateTimeOffset.UtcNow, null);

    /// <summary>Holds every reader thread of a store in a read that waits for <see cref="Release"/>.</summary>
    private sealed class ReadersHeld : IDisposable
    {
#pragma warning disable CA2213 // see Dispose
        private readonly ManualResetEventSlim _gate = new();
#pragma warning restore CA2213

        private ReadersHeld()
        {
        }

        /// <summary>Gets the held reads; each returns whether it was released (rather than timed out).</summary>
        public Task<bool[]> Completion { get; private set; } = Task.FromResult(Array.Empty<bool>());

        public static async Task<ReadersHeld> StartAsync(SqliteChatStore store, int readers)
        {
            var held = new ReadersHeld();
            using var started = new CountdownEvent(readers);
            var reads = Enumerable.Range(0, readers).Select(_ => store.ReadAsync(
                c =>
                {
                    started.Signal();
                    return held._gate.Wait(Timeout);
                },
                default)).ToArray();
            held.Completion = Task.WhenAll(reads);
            Assert.True(await Task.Run(() => started.Wait(Timeout)), "every reader thread started a held read");
            return held;
        }

        public void Release() => _gate.Set();

        public void Dispose() => _gate.Set(); // never disposed: a released reader may still be leaving Wait
    }
}
