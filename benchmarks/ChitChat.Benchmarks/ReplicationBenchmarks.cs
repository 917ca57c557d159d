using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ChitChat;
using ChitChat.Replication;
using ChitChat.Sqlite;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChitChat.Benchmarks;

/// <summary>
/// Replication throughput and lag, SQLite to SQLite on local temp files.
/// <list type="bullet">
/// <item><see cref="CatchUp"/>: a fresh replica catches up with a primary holding 50,000 messages (target: at least 50,000 documents/s).</item>
/// <item><see cref="ReplicationLagBenchmarks.SteadyStateLag"/>: 1,000 messages/s written for 10 s while the hosted sync service runs; prints p50/p99/max lag (target: p99 at most 1 s).</item>
/// </list>
/// Run: <c>dotnet run -c Release --project benchmarks/ChitChat.Benchmarks -- --filter '*ReplicationBenchmarks*'</c>.
/// Each benchmark prints a <c>[replication]</c> line with the measured numbers.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 3, invocationCount: 1)]
[MemoryDiagnoser]
public class ReplicationBenchmarks
{
    private string _dir = null!;
    private SqliteChatStore _primary = null!;
    private SqliteChatStore? _replica;
    private ServiceProvider? _services;
    private int _documents;

    /// <summary>Gets or sets the messages pre-written to the primary.</summary>
    [Params(50_000)]
    public int Messages { get; set; }

    /// <summary>Gets or sets the sync batch size.</summary>
    [Params(1000, 5000)]
    public int BatchSize { get; set; }

    [GlobalSetup(Target = nameof(CatchUp))]
    public void SetUpPrimary()
    {
        _dir = Path.Combine(Path.GetTempPath(), "chitchat-repl-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _primary = Open("primary");
        _documents = SeedAsync(_primary, Messages).GetAwaiter().GetResult();
    }

    [IterationSetup(Target = nameof(CatchUp))]
    public void NewReplica()
    {
        _replica = Open("replica-" + Guid.NewGuid().ToString("N"));
        _services = BuildServices(_primary, _replica, o => o.BatchSize = BatchSize);
        _services.GetRequiredService<IChatStore>().InitializeAsync().GetAwaiter().GetResult();
    }

    /// <summary>Catch-up of a fresh replica: every document of the primary, in batches with checkpoints.</summary>
    [Benchmark]
    public async Task<long> CatchUp()
    {
        var watch = Stopwatch.StartNew();
        var report = await _services!.GetRequiredService<IReplicationManager>().SyncNowAsync();
        watch.Stop();
        if (!report.Succeeded || report.DocumentsApplied < _documents)
        {
            throw new InvalidOperationException($"catch-up incomplete: {report.DocumentsApplied} of {_documents}");
        }

        Console.WriteLine($"[replication] catch-up batch={BatchSize}: {report.DocumentsApplied} documents in {watch.Elapsed.TotalSeconds:0.000} s = {report.DocumentsApplied / watch.Elapsed.TotalSeconds:0} documents/s (target >= 50000)");
        return report.DocumentsApplied;
    }

    [IterationCleanup(Target = nameof(CatchUp))]
    public void DropReplica()
    {
        _services?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _replica?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup(Target = nameof(CatchUp))]
    public void CleanUp()
    {
        _primary.DisposeAsync().AsTask().GetAwaiter().GetResult();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Writes at a fixed rate through the router while the sync service runs, and measures per-tick replication lag.</summary>
    /// <param name="ratePerSecond">Messages per second.</param>
    /// <param name="duration">How long to write.</param>
    /// <param name="output">Where to print the result line.</param>
    /// <returns>The p99 lag in milliseconds.</returns>
    public static async Task<double> MeasureLagAsync(int ratePerSecond, TimeSpan duration, TextWriter output)
    {
        var dir = Path.Combine(Path.GetTempPath(), "chitchat-repl-lag-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            await using var primary = Open("primary", dir);
            await using var replica = Open("replica", dir);
            await using var services = BuildServices(primary, replica, o => o.SyncInterval = TimeSpan.FromMilliseconds(20));
            var router = services.GetRequiredService<IChatStore>();
            await router.InitializeAsync();
            var hosted = services.GetServices<IHostedService>().ToList();
            foreach (var h in hosted)
            {
                await h.StartAsync(CancellationToken.None);
            }

            var author = new ChatUser(Guid.CreateVersion7(), "bench", null, null, "x", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 1);
            await router.Users.TryCreateAsync(author);
            foreach (var r in Enumerable.Range(0, 10))
            {
                await router.Rooms.TryCreateAsync(new ChatRoom(Guid.CreateVersion7(), $"room-{r}", null, DateTimeOffset.UtcNow, 1));
            }

            // Writer: every 10 ms tick writes rate/100 messages; the tick's acknowledged head position and time are recorded.
            var pending = new System.Collections.Concurrent.ConcurrentQueue<(long Head, long AckedAt)>();
            var lags = new List<double>();
            using var stop = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested || !pending.IsEmpty)
                {
                    var applied = (await replica.Replication.GetCheckpointAsync("primary"))?.Position ?? 0;
                    var now = Stopwatch.GetTimestamp();
                    while (pending.TryPeek(out var p) && p.Head <= applied)
                    {
                        pending.TryDequeue(out _);
                        lags.Add(Stopwatch.GetElapsedTime(p.AckedAt, now).TotalMilliseconds);
                    }

                    await Task.Delay(2);
                }
            });

            var perTick = Math.Max(1, ratePerSecond / 100);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var sent = 0;
            while (Stopwatch.GetTimestamp() < end && await timer.WaitForNextTickAsync())
            {
                var writes = Enumerable.Range(0, perTick).Select(i => router.Messages.AppendAsync(new NewMessage(
                    Guid.CreateVersion7(), $"room-{(sent + i) % 10}", author.Id, author.UserName, "load " + (sent + i), DateTimeOffset.UtcNow, null)));
                await Task.WhenAll(writes);
                sent += perTick;
                pending.Enqueue((await primary.Replication.GetHeadPositionAsync(), Stopwatch.GetTimestamp()));
            }

            var elapsed = duration.TotalSeconds;
            stop.Cancel();
            await sampler.WaitAsync(TimeSpan.FromMinutes(2));
            foreach (var h in hosted)
            {
                await h.StopAsync(CancellationToken.None);
            }

            lags.Sort();
            double P(double q) => lags.Count == 0 ? double.NaN : lags[Math.Min(lags.Count - 1, (int)Math.Ceiling(q * lags.Count) - 1)];
            output.WriteLine($"[replication] steady-state lag at {sent / elapsed:0} messages/s over {elapsed:0} s ({lags.Count} samples): p50 {P(0.50):0} ms, p99 {P(0.99):0} ms, max {P(1.0):0} ms (target p99 <= 1000 ms)");
            return P(0.99);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private SqliteChatStore Open(string name) => Open(name, _dir);

    private static SqliteChatStore Open(string name, string dir) =>
        new(new SqliteStoreOptions { ConnectionString = $"Data Source={Path.Combine(dir, name + ".db")}" });

    private static ServiceProvider BuildServices(IChatStore primary, IChatStore replica, Action<ReplicationOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddChitChat().AddReplication(o =>
        {
            o.UsePrimary(primary).AddReplica("r1", replica);
            o.AntiEntropyInterval = TimeSpan.Zero;
            configure(o);
        });
        return services.BuildServiceProvider();
    }

    private static async Task<int> SeedAsync(IChatStore store, int messages)
    {
        await store.InitializeAsync();
        var author = new ChatUser(Guid.CreateVersion7(), "seed", null, null, "x", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 1);
        await store.Users.TryCreateAsync(author);
        const int Rooms = 20;
        for (var r = 0; r < Rooms; r++)
        {
            await store.Rooms.TryCreateAsync(new ChatRoom(Guid.CreateVersion7(), $"room-{r}", null, DateTimeOffset.UtcNow, 1));
        }

        for (var offset = 0; offset < messages; offset += 1000)
        {
            var count = Math.Min(1000, messages - offset);
            await Task.WhenAll(Enumerable.Range(offset, count).Select(i => store.Messages.AppendAsync(new NewMessage(
                Guid.CreateVersion7(), $"room-{i % Rooms}", author.Id, author.UserName, $"seed message {i} with some text to carry", DateTimeOffset.UtcNow, $"seed-{i}"))));
        }

        return messages + Rooms + 1;
    }
}

/// <summary>Steady-state replication lag under a 1,000 messages/s write load (one 10 s run; the printed p99 is the result).</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 1, invocationCount: 1)]
public class ReplicationLagBenchmarks
{
    /// <summary>Writes 1,000 messages/s for 10 s while the hosted sync service runs.</summary>
    /// <returns>The p99 lag in milliseconds.</returns>
    [Benchmark]
    public Task<double> SteadyStateLag() => ReplicationBenchmarks.MeasureLagAsync(ratePerSecond: 1000, duration: TimeSpan.FromSeconds(10), Console.Out);
}
