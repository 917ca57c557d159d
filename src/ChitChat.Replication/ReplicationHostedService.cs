using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Replication;

/// <summary>Starts the monitor and, when <see cref="ReplicationOptions.RunSync"/> is set, the sync loop; does nothing when replication is disabled.</summary>
internal sealed class ReplicationHostedService(IServiceProvider services, IOptions<ReplicationOptions> options) : IHostedService, IAsyncDisposable
{
    private ReplicationMonitorService? _monitor;
    private ReplicationSyncService? _sync;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var set = (ReplicaSet)services.GetService(typeof(ReplicaSet))!;
        _monitor = new ReplicationMonitorService(set);
        await _monitor.StartAsync(cancellationToken).ConfigureAwait(false);
        if (options.Value.RunSync)
        {
            var manager = (ReplicationManager)services.GetService(typeof(ReplicationManager))!;
            var logger = (ILogger<ReplicationSyncService>)services.GetService(typeof(ILogger<ReplicationSyncService>))!;
            _sync = new ReplicationSyncService(manager, set, logger);
            await _sync.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_sync is not null)
        {
            await _sync.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_monitor is not null)
        {
            await _monitor.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        _sync?.Dispose();
        _monitor?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Resolves the health check lazily so that a disabled replication never builds stores.</summary>
internal sealed class ReplicationHealthCheckAdapter(IServiceProvider services, IOptions<ReplicationOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.Enabled)
        {
            return Task.FromResult(HealthCheckResult.Healthy("Replication is disabled."));
        }

        var set = (ReplicaSet)services.GetService(typeof(ReplicaSet))!;
        return new ReplicationHealthCheck(set).CheckHealthAsync(context, cancellationToken);
    }
}
