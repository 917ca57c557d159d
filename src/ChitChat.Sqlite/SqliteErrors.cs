using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>Classifies SQLite failures: the ones that mean "the store cannot serve now" become <see cref="ChatStoreUnavailableException"/>.</summary>
internal static class SqliteErrors
{
    /// <summary>SQLITE_CONSTRAINT: a statement violated a uniqueness (or other) constraint and changed nothing.</summary>
    public const int Constraint = 19;

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteNoMem = 7;
    private const int SqliteReadOnly = 8;
    private const int SqliteIoErr = 10;
    private const int SqliteCorrupt = 11;
    private const int SqliteFull = 13;
    private const int SqliteCantOpen = 14;
    private const int SqliteProtocol = 15;
    private const int SqliteNotADb = 26;

    /// <summary>Returns whether the error means the database cannot be used right now (locked beyond the busy timeout, I/O, unreadable file).</summary>
    /// <param name="exception">The exception.</param>
    /// <returns><see langword="true"/> for an availability problem.</returns>
    public static bool IsUnavailable(SqliteException exception) => exception.SqliteErrorCode switch
    {
        SqliteBusy or SqliteLocked or SqliteNoMem or SqliteReadOnly or SqliteIoErr or SqliteCorrupt or SqliteFull
            or SqliteCantOpen or SqliteProtocol or SqliteNotADb => true,
        _ => false,
    };

    /// <summary>Wraps an availability problem; other exceptions are returned unchanged.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The exception to surface.</returns>
    public static Exception Translate(Exception exception) => exception switch
    {
        SqliteException sqlite when IsUnavailable(sqlite) => new ChatStoreUnavailableException(
            sqlite.SqliteErrorCode is SqliteBusy or SqliteLocked
                ? "The SQLite store is busy: another connection or process held its lock longer than the busy timeout."
                : $"The SQLite store cannot be used (SQLite error {sqlite.SqliteErrorCode}).",
            innerException: sqlite),
        _ => exception,
    };
}
