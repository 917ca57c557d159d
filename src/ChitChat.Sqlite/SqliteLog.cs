using Microsoft.Extensions.Logging;

namespace ChitChat.Sqlite;

/// <summary>The SQLite store's log messages (event ids 2000-2999). Only the data source (a file name) is logged, never the connection string.</summary>
internal static partial class SqliteLog
{
    [LoggerMessage(EventId = 2001, EventName = "SqliteStoreOpened", Level = LogLevel.Information,
        Message = "SQLite store '{Name}' opened {DataSource} (schema version {FromVersion} -> {ToVersion}, WAL, synchronous=FULL, batch size {MaxBatchSize}).")]
    public static partial void StoreOpened(ILogger logger, string name, string dataSource, int fromVersion, int toVersion, int maxBatchSize);

    [LoggerMessage(EventId = 2002, EventName = "SqliteBatchCommitted", Level = LogLevel.Trace,
        Message = "SQLite store '{Name}' committed {Count} writes in one transaction.")]
    public static partial void BatchCommitted(ILogger logger, string name, int count);

    [LoggerMessage(EventId = 2003, EventName = "SqliteBatchFailed", Level = LogLevel.Warning,
        Message = "SQLite store '{Name}': a transaction of {Count} writes failed and was rolled back; the writers get an error.")]
    public static partial void BatchFailed(ILogger logger, string name, int count, Exception exception);

    [LoggerMessage(EventId = 2004, EventName = "SqliteStoreUnavailable", Level = LogLevel.Warning,
        Message = "SQLite store '{Name}' is unavailable (SQLite error {ErrorCode}).")]
    public static partial void StoreUnavailable(ILogger logger, string name, int errorCode, Exception exception);

    [LoggerMessage(EventId = 2005, EventName = "SqliteStoreClosed", Level = LogLevel.Debug,
        Message = "SQLite store '{Name}' closed after {Commits} write transactions.")]
    public static partial void StoreClosed(ILogger logger, string name, long commits);
}
