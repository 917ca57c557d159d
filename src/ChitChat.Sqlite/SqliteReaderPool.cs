using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>
/// Runs the store's reads on a few dedicated threads, each owning one read-only connection and its prepared statements.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite's <c>*Async</c> methods run synchronously, so a read "awaited" on the caller's thread blocks that
/// thread for the whole statement; under load that is a thread-pool thread, and blocked pool threads starve every other
/// continuation in the process (the pool injects threads slowly). Here a read is queued and the caller gets a task at
/// once; a reader thread runs it and completes the task with <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/>,
/// so callers' continuations never run on (and never hold up) a reader. The threads are dedicated rather than pooled
/// because their work is blocking I/O: they neither take pool threads nor need one to wake up (a <see cref="SemaphoreSlim"/>
/// wakes them, not an async channel whose waiters resume on the pool). WAL lets every reader run beside the writer and
/// beside other processes: each statement, or each <see cref="SqliteReadConnection.InSnapshot{T}"/> block, sees the
/// latest committed state. The cost is one hand-off per read, which the cached prepared statements mostly repay.
/// A read whose token is cancelled before a reader picks it up is cancelled at once and never runs; disposal fails the
/// reads still queued with <see cref="ObjectDisposedException"/>, lets the running ones finish and closes the connections.
/// </remarks>
internal sealed class SqliteReaderPool
{
    private readonly Func<SqliteConnection> _open;
    private readonly Func<Exception, Exception> _translate;
    private readonly Queue<ReadOperation> _queue = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread[] _threads;
    private int _running;
    private bool _stopping;

    /// <summary>Starts the reader threads (their connections open on their first read).</summary>
    /// <param name="threads">The number of reader threads.</param>
    /// <param name="name">The store's name, for the threads' names.</param>
    /// <param name="open">Opens a connection to the store's file.</param>
    /// <param name="translate">Turns a failure into the exception callers see.</param>
    public SqliteReaderPool(int threads, string name, Func<SqliteConnection> open, Func<Exception, Exception> translate)
    {
        _open = open;
        _translate = translate;
        _threads = new Thread[threads];
        _running = threads;
        for (var i = 0; i < threads; i++)
        {
            // Background: a store that is never disposed does not keep the process alive.
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"ChitChat.Sqlite reader {name} #{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Gets the number of reader threads.</summary>
    public int Threads => _threads.Length;

    /// <summary>Queues a read.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="read">The read, run on a reader thread with its connection.</param>
    /// <param name="cancellationToken">Cancels the read while it is queued.</param>
    /// <returns>The read's result, completed off the reader thread.</returns>
    public Task<T> ReadAsync<T>(Func<SqliteReadConnection, T> read, CancellationToken cancellationToken)
    {
        var operation = new ReadOperation<T>(read, cancellationToken);
        operation.WatchCancellation(); // before a reader can see it
        lock (_gate)
        {
            if (_stopping)
            {
                operation.TryFail(new ObjectDisposedException(nameof(SqliteChatStore)));
                return operation.Task;
            }

            _queue.Enqueue(operation);
            _signal.Release();
        }

        return operation.Task;
    }

    /// <summary>Fails the queued reads with <see cref="ObjectDisposedException"/> and lets the threads end after their current read.</summary>
    /// <returns>A task that completes when every thread has closed its connection and ended.</returns>
    public Task StopAsync()
    {
        ReadOperation[] queued;
        lock (_gate)
        {
            if (!_stopping)
            {
                _stopping = true;
                _signal.Release(_threads.Length); // every thread wakes once more, finds the queue empty and ends
            }

            queued = [.. _queue];
            _queue.Clear();
        }

        var disposed = new ObjectDisposedException(nameof(SqliteChatStore));
        foreach (var operation in queued)
        {
            operation.TryFail(disposed);
        }

        return _stopped.Task;
    }

    private void Run()
    {
        SqliteReadConnection? connection = null;
        try
        {
            while (true)
            {
                _signal.Wait();
                ReadOperation? operation;
                lock (_gate)
                {
                    if (!_queue.TryDequeue(out operation))
                    {
                        if (_stopping)
                        {
                            return;
                        }

                        continue;
                    }
                }

                if (!operation.TryStart())
                {
                    continue; // cancelled while queued
                }

                try
                {
                    connection ??= new SqliteReadConnection(_open());
                    operation.Execute(connection);
                }
                catch (Exception ex)
                {
                    if (ex is SqliteException)
                    {
                        // The connection may be unusable after an I/O error or a lost file: reopen on the next read.
                        connection?.Dispose();
                        connection = null;
                    }

                    operation.Fault(_translate(ex));
                }
            }
        }
        finally
        {
            connection?.Dispose();
            if (Interlocked.Decrement(ref _running) == 0)
            {
                _stopped.TrySetResult();
            }
        }
    }

    private abstract class ReadOperation
    {
        private const int Queued = 0, Started = 1, Done = 2;
        private int _state;

        /// <summary>Claims the operation for a reader; <see langword="false"/> when it was cancelled or failed while queued.</summary>
        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;

        /// <summary>Fails the operation if no reader has started it.</summary>
        public void TryFail(Exception exception)
        {
            if (Interlocked.CompareExchange(ref _state, Done, Queued) == Queued)
            {
                Fault(exception);
            }
        }

        /// <summary>Cancels the operation if no reader has started it.</summary>
        protected bool TryClaimForCancellation() => Interlocked.CompareExchange(ref _state, Done, Queued) == Queued;

        public abstract void Execute(SqliteReadConnection connection);

        public abstract void Fault(Exception exception);
    }

    private sealed class ReadOperation<T>(Func<SqliteReadConnection, T> read, CancellationToken cancellationToken) : ReadOperation
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenRegistration _registration;

        public Task<T> Task => _completion.Task;

        /// <summary>Cancels the task as soon as the token is cancelled, if the read has not started by then.</summary>
        public void WatchCancellation()
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static state => ((ReadOperation<T>)state!).Cancel(), this);
            }
        }

        public override void Execute(SqliteReadConnection connection)
        {
            _registration.Dispose();
            _completion.TrySetResult(read(connection));
        }

        public override void Fault(Exception exception)
        {
            _registration.Dispose();
            _completion.TrySetException(exception);
        }

        private void Cancel()
        {
            if (TryClaimForCancellation())
            {
                _completion.TrySetCanceled(cancellationToken);
            }
        }
    }
}

/// <summary>A reader thread's connection (read-only: <c>query_only</c>) and its prepared statements, reused across reads.</summary>
internal sealed class SqliteReadConnection : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _snapshot;

    /// <summary>Takes ownership of an open connection and makes it read-only.</summary>
    /// <param name="connection">The connection.</param>
    public SqliteReadConnection(SqliteConnection connection)
    {
        _connection = connection;
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA query_only = ON;";
            command.ExecuteNonQuery();
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Returns the prepared command for <paramref name="sql"/>, its parameters set to <paramref name="parameters"/>.</summary>
    /// <param name="sql">The statement.</param>
    /// <param name="parameters">The parameters.</param>
    /// <returns>The command, in the current snapshot if one is open.</returns>
    public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }

        command.Transaction = _snapshot;
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    /// <summary>Runs several statements in one read transaction, so they all see the same committed state.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="body">The statements.</param>
    /// <returns>The result.</returns>
    public T InSnapshot<T>(Func<T> body)
    {
        using var transaction = _connection.BeginTransaction(deferred: true);
        _snapshot = transaction;
        try
        {
            var result = body();
            transaction.Commit();
            return result;
        }
        finally
        {
            _snapshot = null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        _connection.Dispose();
    }
}
