using Microsoft.Extensions.Options;

namespace ChitChat.Sqlite;

/// <summary>Options of the SQLite store (configuration section <c>ChitChat:Sqlite</c>).</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The configuration section the options bind from: <c>ChitChat:Sqlite</c>.</summary>
    public const string SectionName = "ChitChat:Sqlite";

    /// <summary>Gets or sets the connection string, e.g. <c>Data Source=data/chitchat.db</c>. Required.</summary>
    /// <value>No default; the parent directory of the file is created when missing.</value>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets the largest number of queued writes (appends, registrations, replication batches) committed in one
    /// transaction. <c>1</c> disables group commit (one transaction, and one fsync, per write).
    /// </summary>
    /// <value>The default is 256; valid values are 1 to 10,000.</value>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>Gets or sets how long a statement waits for a lock held by another connection or process before the store reports itself unavailable.</summary>
    /// <value>The default is 5 seconds; valid values are 1 millisecond to 10 minutes.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets how many writes may wait for the writer before callers of write methods wait for room in the queue (back-pressure).</summary>
    /// <value>The default is 10,000; valid values are 1 to 1,000,000.</value>
    public int WriteQueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how many dedicated reader threads run the store's reads, each with its own read-only connection. Reads
    /// are queued to them, so a read never blocks the caller's thread (Microsoft.Data.Sqlite has no truly asynchronous I/O);
    /// in WAL mode they run beside the writer. More threads help only with many concurrent, slow reads (large history
    /// pages, the change feed on a cold file).
    /// </summary>
    /// <value>The default is <c>min(4, Environment.ProcessorCount)</c>; valid values are 1 to 64.</value>
    public int ReaderThreads { get; set; } = DefaultReaderThreads;

    /// <summary>Gets the default of <see cref="ReaderThreads"/>: <c>min(4, Environment.ProcessorCount)</c>.</summary>
    internal static int DefaultReaderThreads => Math.Min(4, Environment.ProcessorCount);
}

/// <summary>Validates <see cref="SqliteStoreOptions"/> at start-up.</summary>
internal sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add($"{SqliteStoreOptions.SectionName}:ConnectionString is required (e.g. 'Data Source=data/chitchat.db').");
        }
        else if (SqliteConnectionFactory.TryDescribeProblem(options.ConnectionString) is { } problem)
        {
            failures.Add($"{SqliteStoreOptions.SectionName}:ConnectionString: {problem}");
        }

        if (options.MaxBatchSize is < 1 or > 10_000)
        {
            failures.Add($"{SqliteStoreOptions.SectionName}:MaxBatchSize must be between 1 and 10000 (was {options.MaxBatchSize}).");
        }

        if (options.BusyTimeout < TimeSpan.FromMilliseconds(1) || options.BusyTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{SqliteStoreOptions.SectionName}:BusyTimeout must be between 1 ms and 10 minutes (was {options.BusyTimeout}).");
        }

        if (options.WriteQueueCapacity is < 1 or > 1_000_000)
        {
            failures.Add($"{SqliteStoreOptions.SectionName}:WriteQueueCapacity must be between 1 and 1000000 (was {options.WriteQueueCapacity}).");
        }

        if (options.ReaderThreads is < 1 or > 64)
        {
            failures.Add($"{SqliteStoreOptions.SectionName}:ReaderThreads must be between 1 and 64 (was {options.ReaderThreads}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
