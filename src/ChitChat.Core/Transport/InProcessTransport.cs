using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace ChitChat.Transport;

/// <summary>The single-node transport: events go straight to the subscribers in this process.</summary>
public sealed partial class InProcessTransport : IChatTransport
{
    private readonly ConcurrentDictionary<string, ImmutableArray<Subscription>> _subscriptions = new(StringComparer.Ordinal);
    private readonly ILogger<InProcessTransport> _logger;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="logger">The logger.</param>
    public InProcessTransport(ILogger<InProcessTransport> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "in-process";

    /// <inheritdoc />
    public TransportStatus Status => TransportStatus.Healthy;

    /// <inheritdoc />
    public async ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roomEvent);
        if (!_subscriptions.TryGetValue(roomEvent.Room, out var subscribers))
        {
            return;
        }

        foreach (var subscription in subscribers)
        {
            try
            {
                await subscription.Handler(roomEvent, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One failing subscriber never stops delivery to the others.
                LogHandlerFailed(roomEvent.Room, ex);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(room);
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new Subscription(this, room, handler);
        _subscriptions.AddOrUpdate(room, static (_, s) => [s], static (_, list, s) => list.Add(s), subscription);
        return ValueTask.FromResult<IAsyncDisposable>(subscription);
    }

    private void Remove(Subscription subscription)
    {
        while (_subscriptions.TryGetValue(subscription.Room, out var list))
        {
            var updated = list.Remove(subscription);
            if (updated.IsEmpty
                ? _subscriptions.TryRemove(new KeyValuePair<string, ImmutableArray<Subscription>>(subscription.Room, list))
                : _subscriptions.TryUpdate(subscription.Room, updated, list))
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 1101, EventName = "TransportHandlerFailed", Level = LogLevel.Error, Message = "A subscriber of room {Room} failed to handle an event.")]
    private partial void LogHandlerFailed(string room, Exception exception);

    private sealed class Subscription(InProcessTransport owner, string room, RoomEventHandler handler) : IAsyncDisposable
    {
        private int _disposed;

        public string Room { get; } = room;

        public RoomEventHandler Handler { get; } = handler;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(this);
            }

            return ValueTask.CompletedTask;
        }
    }
}
