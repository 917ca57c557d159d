using Microsoft.Extensions.Logging;

namespace ChitChat.Transport;

/// <summary>The single-node transport: events go straight to the subscribers in this process.</summary>
public sealed partial class InProcessTransport : IChatTransport
{
    private readonly LocalRoomSubscribers _subscribers;
    private readonly ILogger<InProcessTransport> _logger;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="logger">The logger.</param>
    public InProcessTransport(ILogger<InProcessTransport> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _subscribers = new LocalRoomSubscribers(LogHandlerFailed);
    }

    /// <inheritdoc />
    public string Name => "in-process";

    /// <inheritdoc />
    public TransportStatus Status => TransportStatus.Healthy;

    /// <inheritdoc />
    public ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roomEvent);
        return _subscribers.DeliverAsync(roomEvent, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentNullException.ThrowIfNull(handler);
        return ValueTask.FromResult<IAsyncDisposable>(_subscribers.Add(room, handler));
    }

    [LoggerMessage(EventId = 1101, EventName = "TransportHandlerFailed", Level = LogLevel.Error, Message = "A subscriber of room {Room} failed to handle an event.")]
    private partial void LogHandlerFailed(string room, Exception exception);
}
