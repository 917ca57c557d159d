using BenchmarkDotNet.Attributes;
using ChitChat;
using ChitChat.Sqlite;
using ChitChat.Storage;

namespace ChitChat.Benchmarks;

/// <summary>
/// Durable appends to one SQLite room (WAL, synchronous=FULL: each acknowledged append is on disk), with 1 and 64
/// concurrent writers, with group commit (up to 256 appends per transaction) and with one transaction per message
/// (MaxBatchSize = 1, the baseline). Each operation is one acknowledged append; appends/s = 1 / mean.
/// </summary>
[Config(typeof(AppendsConfig))]
public class SqliteAppendBenchmarks
{
    private const int AppendsPerInvocation = 512;

    private string _directory = string.Empty;
    private SqliteChatStore _store = null!;
    private IMessageStore _messages = null!;
    private int _counter;

    /// <summary>Gets or sets the number of concurrent writers.</summary>
    [Params(1, 64)]
    public int Writers { get; set; }

    /// <summary>Gets or sets whether group commit is on (MaxBatchSize 256) or off (MaxBatchSize 1: one commit per message).</summary>
    [Params(true, false)]
    public bool GroupCommit { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "chitchat-bench-" + Guid.NewGuid().ToString("N"));
        _store = new SqliteChatStore(new SqliteStoreOptions
        {
            ConnectionString = $"Data Source={Path.Combine(_directory, "bench.db")}",
            MaxBatchSize = GroupCommit ? 256 : 1,
        });
        _store.InitializeAsync().GetAwaiter().GetResult();
        _messages = _store.Messages;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = AppendsPerInvocation)]
    public Task Append()
    {
        var perWriter = AppendsPerInvocation / Writers;
        var tasks = new Task[Writers];
        for (var w = 0; w < Writers; w++)
        {
            tasks[w] = WriteAsync(perWriter);
        }

        return Task.WhenAll(tasks);
    }

    private async Task WriteAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var n = Interlocked.Increment(ref _counter);
            var result = await _messages.AppendAsync(new NewMessage(Guid.CreateVersion7(), "bench", Guid.Empty, "bench", "benchmark message text", DateTimeOffset.UtcNow, "c" + n)).ConfigureAwait(false);
            if (!result.Created)
            {
                throw new InvalidOperationException("duplicate");
            }
        }
    }

    private sealed class AppendsConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public AppendsConfig()
        {
            AddColumn(new AppendsPerSecondColumn());
        }
    }

    /// <summary>Appends per second from the mean time per append.</summary>
    private sealed class AppendsPerSecondColumn : BenchmarkDotNet.Columns.IColumn
    {
        public string Id => "AppendsPerSecond";

        public string ColumnName => "Appends/s";

        public bool AlwaysShow => true;

        public BenchmarkDotNet.Columns.ColumnCategory Category => BenchmarkDotNet.Columns.ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public BenchmarkDotNet.Columns.UnitType UnitType => BenchmarkDotNet.Columns.UnitType.Dimensionless;

        public string Legend => "Durable appends acknowledged per second (1 / mean)";

        public string GetValue(BenchmarkDotNet.Reports.Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase)
        {
            var report = summary[benchmarkCase];
            return report?.ResultStatistics is { } stats ? (1e9 / stats.Mean).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "NA";
        }

        public string GetValue(BenchmarkDotNet.Reports.Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, BenchmarkDotNet.Reports.SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(BenchmarkDotNet.Reports.Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(BenchmarkDotNet.Reports.Summary summary) => true;
    }
}
