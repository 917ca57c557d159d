using Microsoft.Extensions.Hosting;

namespace ChitChat.Redis;

/// <summary>
/// Creates the Redis connection in the background when the host starts, so the transport reports its real status early.
/// Never blocks start-up: when Redis is down the multiplexer keeps reconnecting by itself.
/// </summary>
/// <param name="connection">The shared connection.</param>
internal sealed class RedisConnectionWarmUpService(RedisConnectionProvider connection) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            await connection.GetAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
