using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChitChat.Redis;

/// <summary>
/// Shares one <see cref="IConnectionMultiplexer"/> between ChitChat's Redis services. It connects lazily and thread-safely on
/// first use with <see cref="ConfigurationOptions.AbortOnConnectFail"/> off, so an app starts while Redis is down and the
/// multiplexer reconnects by itself. A multiplexer it created is disposed with it; one supplied by the app is never disposed.
/// </summary>
public sealed partial class RedisConnectionProvider : IAsyncDisposable
{
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly ConfigurationOptions? _configuration;
    private readonly ILogger<RedisConnectionProvider> _logger;
    private readonly bool _owned;
    private volatile IConnectionMultiplexer? _multiplexer;
    private int _disposed;

    /// <summary>Initializes a new instance that creates (and owns) its multiplexer from <paramref name="options"/>.</summary>
    /// <param name="options">The options; <see cref="RedisChitChatOptions.ConfigurationOptions"/> or <see cref="RedisChitChatOptions.Configuration"/> must be set.</param>
    /// <param name="logger">The logger.</param>
    public RedisConnectionProvider(IOptions<RedisChitChatOptions> options, ILogger<RedisConnectionProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var value = options.Value;
        var configuration = value.ConfigurationOptions?.Clone()
            ?? (string.IsNullOrWhiteSpace(value.Configuration)
                ? throw new InvalidOperationException($"{RedisChitChatOptions.SectionName}:Configuration is not set.")
                : ConfigurationOptions.Parse(value.Configuration));
        configuration.AbortOnConnectFail = false;
        if (value.ConfigurationOptions is null)
        {
            // Fail fast while disconnected instead of queueing: presence and leases report errors at once, and the
            // transport never sends stale events after a reconnect.
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
        }

        _configuration = configuration;
        _logger = logger;
        _owned = true;
    }

    /// <summary>Initializes a new instance over a multiplexer owned by the caller (never disposed by this instance).</summary>
    /// <param name="multiplexer">The multiplexer.</param>
    /// <param name="logger">The logger.</param>
    public RedisConnectionProvider(IConnectionMultiplexer multiplexer, ILogger<RedisConnectionProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _owned = false;
        Attach(multiplexer);
        _multiplexer = multiplexer;
    }

    /// <summary>Occurs when a connection to Redis is (re-)established.</summary>
    public event EventHandler? Restored;

    /// <summary>Occurs when a connection to Redis fails (events published meanwhile may be lost to subscribers).</summary>
    internal event EventHandler? Failed;

    /// <summary>Gets a value indicating whether the multiplexer exists and is connected.</summary>
    public bool IsConnected => _multiplexer?.IsConnected == true;

    /// <summary>Gets a value indicating whether this instance created the multiplexer and disposes it.</summary>
    public bool OwnsMultiplexer => _owned;

    /// <summary>Gets the multiplexer if it was created already; never connects.</summary>
    internal IConnectionMultiplexer? Current => _multiplexer;

    /// <summary>Gets the multiplexer, creating it on first use. Returns even when Redis is unreachable (it reconnects in the background).</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The multiplexer.</returns>
    public async ValueTask<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken = default)
    {
        var current = _multiplexer;
        if (current is not null)
        {
            return current;
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_multiplexer is { } existing)
            {
                return existing;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            LogConnecting(_configuration!.ToString(includePassword: false));
            var created = await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
            Attach(created);
            _multiplexer = created;
            if (!created.IsConnected)
            {
                LogNotYetConnected();
            }

            return created;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _connectGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_multiplexer is { } multiplexer)
            {
                multiplexer.ConnectionFailed -= OnConnectionFailed;
                multiplexer.ConnectionRestored -= OnConnectionRestored;
                if (_owned)
                {
                    await multiplexer.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
                    await multiplexer.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private void Attach(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        LogConnectionFailed(e.EndPoint?.ToString(), e.ConnectionType, e.FailureType, e.Exception);
        Failed?.Invoke(this, EventArgs.Empty);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        LogConnectionRestored(e.EndPoint?.ToString(), e.ConnectionType);
        Restored?.Invoke(this, EventArgs.Empty);
    }

    [LoggerMessage(EventId = 4001, EventName = "RedisConnecting", Level = LogLevel.Information, Message = "Connecting to Redis {Configuration}.")]
    private partial void LogConnecting(string configuration);

    [LoggerMessage(EventId = 4002, EventName = "RedisNotYetConnected", Level = LogLevel.Warning, Message = "Redis is unreachable; ChitChat keeps running on this node only and reconnects in the background.")]
    private partial void LogNotYetConnected();

    [LoggerMessage(EventId = 4003, EventName = "RedisConnectionFailed", Level = LogLevel.Warning, Message = "Redis connection {ConnectionType} to {EndPoint} failed ({FailureType}).")]
    private partial void LogConnectionFailed(string? endPoint, ConnectionType connectionType, ConnectionFailureType failureType, Exception? exception);

    [LoggerMessage(EventId = 4004, EventName = "RedisConnectionRestored", Level = LogLevel.Information, Message = "Redis connection {ConnectionType} to {EndPoint} restored.")]
    private partial void LogConnectionRestored(string? endPoint, ConnectionType connectionType);
}
