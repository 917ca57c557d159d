using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace ChitChat.Replication;

/// <summary>Probes the primary and the replicas every <see cref="ReplicationOptions.SyncInterval"/> so the router and the health check know who is reachable and how stale each replica is.</summary>
internal sealed class ReplicationMonitorService(ReplicaSet set) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await set.RefreshAsync(stoppingToken).ConfigureAwait(false);
                await Task.Delay(set.Options.SyncInterval, set.Time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}

/// <summary>Runs incremental sync passes (and anti-entropy when due) while this node holds the lease, backing off exponentially with jitter after failures.</summary>
internal sealed partial class ReplicationSyncService : BackgroundService
{
    private readonly ReplicationManager _manager;
    private readonly ReplicaSet _set;
    private readonly ILogger<ReplicationSyncService> _logger;
    private readonly ResiliencePipeline _retry;

    public ReplicationSyncService(ReplicationManager manager, ReplicaSet set, ILogger<ReplicationSyncService> logger)
    {
        _manager = manager;
        _set = set;
        _logger = logger;
        _retry = new ResiliencePipelineBuilder { Name = "chitchat-replication-sync", TimeProvider = set.Time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = set.Options.RetryBaseDelay,
                MaxDelay = set.Options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
                OnRetry = args =>
                {
                    LogRetry(args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message ?? "unknown");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(_set.Replicas.Count, _set.Options.SyncInterval.TotalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _retry.ExecuteAsync(
                    async ct =>
                    {
                        var report = await _manager.RunScheduledPassAsync(ct).ConfigureAwait(false);
                        if (report.IsLeader && !report.Succeeded)
                        {
                            throw new ReplicationPassFailedException(string.Join("; ", report.Replicas.Where(r => r.Error is not null).Select(r => $"{r.Replica}: {r.Error}")));
                        }
                    },
                    stoppingToken).ConfigureAwait(false);
                await Task.Delay(_set.Options.SyncInterval, _set.Time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 5030, EventName = "SyncServiceStarted", Level = LogLevel.Information, Message = "Replication sync service started: {Replicas} replica(s), every {IntervalSeconds} s.")]
    private partial void LogStarted(int replicas, double intervalSeconds);

    [LoggerMessage(EventId = 5031, EventName = "SyncRetry", Level = LogLevel.Warning, Message = "Replication pass failed (attempt {Attempt}); retrying in {DelaySeconds:0.0} s: {Reason}")]
    private partial void LogRetry(int attempt, double delaySeconds, string reason);

    private sealed class ReplicationPassFailedException(string message) : Exception(message);
}
