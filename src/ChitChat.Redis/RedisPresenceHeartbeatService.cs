using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Redis;

/// <summary>Refreshes this node's presence entries every <see cref="RedisChitChatOptions.PresenceHeartbeatInterval"/>.</summary>
/// <param name="tracker">The tracker.</param>
/// <param name="options">The Redis options.</param>
/// <param name="timeProvider">The clock.</param>
/// <param name="logger">The logger.</param>
internal sealed partial class RedisPresenceHeartbeatService(
    RedisPresenceTracker tracker,
    IOptions<RedisChitChatOptions> options,
    TimeProvider timeProvider,
    ILogger<RedisPresenceHeartbeatService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.EffectiveHeartbeatInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await tracker.HeartbeatAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogHeartbeatFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 4202, EventName = "RedisPresenceHeartbeatLoopFailed", Level = LogLevel.Warning, Message = "A presence heartbeat failed; retrying on the next tick.")]
    private partial void LogHeartbeatFailed(Exception exception);
}
