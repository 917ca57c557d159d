using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>Opens connections to the store's file with the per-connection settings every connection needs.</summary>
internal sealed class SqliteConnectionFactory
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMilliseconds;

    public SqliteConnectionFactory(string connectionString, TimeSpan busyTimeout)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            // The store keeps its own connections (one writer, a few readers) for the lifetime of the store, so the
            // provider's pool would only keep file handles open after Dispose.
            Pooling = false,

            // Microsoft.Data.Sqlite retries a busy statement until the command timeout; keep it no longer than the
            // busy timeout (whole seconds, at least 1) so that a held lock surfaces as "unavailable" in bounded time.
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        };
        _connectionString = builder.ToString();
        _busyTimeoutMilliseconds = (int)Math.Clamp(busyTimeout.TotalMilliseconds, 1, int.MaxValue);
        DataSource = builder.DataSource;
    }

    /// <summary>Gets the file name (never the connection string, which may hold a password), for logs.</summary>
    public string DataSource { get; }

    /// <summary>Describes why a connection string cannot be used by the store, or returns <see langword="null"/>.</summary>
    /// <param name="connectionString">The connection string.</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    public static string? TryDescribeProblem(string connectionString)
    {
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return "it is not a valid SQLite connection string."; // never echo it: it may hold a password
        }

        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            return "'Data Source' is required.";
        }

        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource.Trim() == ":memory:")
        {
            return "an in-memory database cannot be shared by the store's connections; use a file (or the InMemory store).";
        }

        if (builder.Mode == SqliteOpenMode.ReadOnly)
        {
            return "the store writes; 'Mode=ReadOnly' is not supported.";
        }

        return null;
    }

    /// <summary>Creates the directory that holds the database file when it is missing.</summary>
    public void EnsureDirectory()
    {
        if (DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return; // a URI filename: left to SQLite
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(DataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }

    /// <summary>Opens a connection with the busy timeout and <c>synchronous=FULL</c> set.</summary>
    /// <returns>The open connection.</returns>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();

            // synchronous=FULL: in WAL mode every COMMIT fsyncs the WAL, so an acknowledged append survives a power loss
            // (NORMAL would only survive a process crash). Group commit pays that fsync once per batch, not per message.
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = {_busyTimeoutMilliseconds}; PRAGMA synchronous = FULL;");
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
