using ChitChat.Storage;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace ChitChat.Replication;

/// <summary>The observed state of one replica, published by probes and sync passes.</summary>
/// <param name="Name">The replica name.</param>
/// <param name="Reachable">Whether the last probe or sync reached the replica.</param>
/// <param name="AppliedPosition">The primary change-feed position the replica has applied (its checkpoint).</param>
/// <param name="LagDocuments">The primary head minus <paramref name="AppliedPosition"/> when observed.</param>
/// <param name="Lag">How old the oldest primary change not yet on the replica was when observed (zero when caught up).</param>
/// <param name="FreshAsOf">The replica holds every primary change written before this instant; <see langword="null"/> until first observed.</param>
/// <param name="ObservedAt">When this state was observed.</param>
/// <param name="LastSuccessfulSyncAt">When a sync pass last completed for this replica.</param>
public sealed record ReplicaStatus(
    string Name,
    bool Reachable,
    long AppliedPosition,
    long LagDocuments,
    TimeSpan Lag,
    DateTimeOffset? FreshAsOf,
    DateTimeOffset? ObservedAt,
    DateTimeOffset? LastSuccessfulSyncAt);

/// <summary>One store (primary or replica) with its resilience pipeline (circuit breaker + timeout) and observed state.</summary>
internal sealed class ReplicationNode
{
    private static readonly ResiliencePropertyKey<TimeSpan> TimeoutKey = new("chitchat.replication.timeout");
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _defaultTimeout;
    private readonly TimeSpan _breakDuration;
    private readonly TimeSpan _initTimeout;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _initialized;
    private ReplicaStatus _status;
    private double _latencyMs = double.NaN;

    public ReplicationNode(string name, bool isPrimary, IChatStore store, bool ownsStore, ReplicationOptions options, TimeProvider time)
    {
        Name = name;
        IsPrimary = isPrimary;
        Store = store;
        OwnsStore = ownsStore;
        _time = time;
        _defaultTimeout = options.OperationTimeout;
        _breakDuration = options.BreakDuration;
        _initTimeout = options.SyncOperationTimeout;
        _status = new ReplicaStatus(name, Reachable: false, 0, 0, TimeSpan.Zero, null, null, null);
        _pipeline = new ResiliencePipelineBuilder { Name = $"chitchat-replication-{name}", TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = options.CircuitBreakerMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(Math.Max(10, options.BreakDuration.TotalSeconds * 2)),
                BreakDuration = options.BreakDuration,
                StateProvider = _circuit,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsStoreFailure(ex, args.Context.CancellationToken)),
            })
            .AddTimeout(new TimeoutStrategyOptions
            {
                Timeout = options.OperationTimeout,
                TimeoutGenerator = args => ValueTask.FromResult(args.Context.Properties.GetValue(TimeoutKey, _defaultTimeout)),
            })
            .Build();
    }

    public string Name { get; }

    public bool IsPrimary { get; }

    public IChatStore Store { get; }

    public bool OwnsStore { get; }

    /// <summary>Gets a value indicating whether the circuit lets calls through (closed or half-open).</summary>
    public bool CircuitAllowsCalls => _circuit.CircuitState is CircuitState.Closed or CircuitState.HalfOpen;

    public bool IsInitialized => _initialized;

    public ReplicaStatus Status => Volatile.Read(ref _status);

    /// <summary>Gets the smoothed latency of successful calls in milliseconds (NaN until measured).</summary>
    public double LatencyMs => Volatile.Read(ref _latencyMs);

    public void Publish(ReplicaStatus status) => Volatile.Write(ref _status, status);

    public void Update(Func<ReplicaStatus, ReplicaStatus> change)
    {
        ReplicaStatus current, next;
        do
        {
            current = Volatile.Read(ref _status);
            next = change(current);
        }
        while (!ReferenceEquals(Interlocked.CompareExchange(ref _status, next, current), current));
    }

    /// <summary>Whether an exception means the store failed (as opposed to bad input, a rule, a fencing rejection or the caller's cancellation).</summary>
    public static bool IsStoreFailure(Exception ex, CancellationToken callerToken) => ex switch
    {
        ChatStoreUnavailableException => true,
        ChatException or ArgumentException or FencingTokenRejectedException or ObjectDisposedException => false,
        OperationCanceledException when callerToken.IsCancellationRequested => false,
        _ => true,
    };

    public async Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (_initialized)
        {
            return;
        }

        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await ExecuteAsync(async ct => { await Store.InitializeAsync(ct).ConfigureAwait(false); return true; }, _initTimeout, cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <summary>
    /// Runs an operation on the store through the circuit breaker and a timeout. The operation runs on the thread pool so that a
    /// store whose "async" calls block (e.g. on a database lock) cannot hold the caller past the timeout. Store failures, timeouts and an
    /// open circuit surface as <see cref="ChatStoreUnavailableException"/>; other exceptions pass through unchanged.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> operation, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(TimeoutKey, timeout ?? _defaultTimeout);
        var started = _time.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(
                static async (ctx, op) =>
                {
                    var token = ctx.CancellationToken;
                    return await Task.Run(() => op(token), token).WaitAsync(token).ConfigureAwait(false);
                },
                context,
                operation).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started).TotalMilliseconds;
            var previous = Volatile.Read(ref _latencyMs);
            Volatile.Write(ref _latencyMs, double.IsNaN(previous) ? elapsed : (previous * 0.8) + (elapsed * 0.2));
            return result;
        }
        catch (BrokenCircuitException ex)
        {
            throw new ChatStoreUnavailableException($"The {Describe()} is unavailable (circuit open after repeated failures).", ex.RetryAfter ?? _breakDuration, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new ChatStoreUnavailableException($"The {Describe()} did not answer within {ex.Timeout.TotalSeconds:0.###} s.", _breakDuration, ex);
        }
        catch (ChatStoreUnavailableException)
        {
            throw;
        }
        catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
        {
            throw new ChatStoreUnavailableException($"The {Describe()} failed: {ex.GetType().Name}.", _breakDuration, ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Starts an append on the store on the caller's thread, so that appends keep the order they were started in (ordered
    /// pipelining relies on it), and awaits its durability through the circuit breaker and the timeout like
    /// <see cref="ExecuteAsync{T}"/>. An open circuit fails it without calling the store. Failures surface as faulted tasks,
    /// store failures as <see cref="ChatStoreUnavailableException"/>.
    /// </summary>
    public PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken)
    {
        if (!CircuitAllowsCalls)
        {
            var open = Task.FromException<AppendResult>(new ChatStoreUnavailableException($"The {Describe()} is unavailable (circuit open after repeated failures).", _breakDuration));
            return new PendingAppend(open, open);
        }

        PendingAppend started;
        try
        {
            started = Store.Messages.BeginAppend(message, cancellationToken);
        }
        catch (Exception ex)
        {
            var failed = Task.FromException<AppendResult>(IsStoreFailure(ex, cancellationToken) ? new ChatStoreUnavailableException($"The {Describe()} failed: {ex.GetType().Name}.", _breakDuration, ex) : ex);
            return new PendingAppend(failed, failed);
        }

        var durable = ExecuteAsync(ct => started.Durable.WaitAsync(ct), null, cancellationToken);
        return new PendingAppend(started.Sequenced, durable);
    }

    public Task ExecuteAsync(Func<CancellationToken, Task> operation, TimeSpan? timeout, CancellationToken cancellationToken) =>
        ExecuteAsync(async ct => { await operation(ct).ConfigureAwait(false); return true; }, timeout, cancellationToken);

    private string Describe() => IsPrimary ? "primary store" : $"replica store '{Name}'";
}
