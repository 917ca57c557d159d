using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChitChat.Replication;

/// <summary>The <c>replication</c> health check: Unhealthy when the primary is unreachable, Degraded when a replica is unreachable or lags beyond the thresholds.</summary>
internal sealed class ReplicationHealthCheck(ReplicaSet set) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var options = set.Options;
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var replica in set.Replicas)
        {
            var s = replica.Status;
            data[$"{replica.Name}.lagDocuments"] = s.LagDocuments;
            data[$"{replica.Name}.lagSeconds"] = s.Lag.TotalSeconds;
            data[$"{replica.Name}.reachable"] = s.Reachable;
            if (s.ObservedAt is null)
            {
                problems.Add($"replica {replica.Name} not observed yet");
            }
            else if (!s.Reachable)
            {
                problems.Add($"replica {replica.Name} unreachable");
            }
            else if (s.LagDocuments > options.LagThresholdDocuments || s.Lag > options.LagThreshold)
            {
                problems.Add($"replica {replica.Name} lags {s.LagDocuments} documents / {s.Lag.TotalSeconds:0.#} s");
            }
        }

        if (!set.PrimaryReachable)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The primary store is unreachable; writes are rejected with 'unavailable'.", data: data));
        }

        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy($"Primary reachable; {set.Replicas.Count} replica(s) within thresholds.", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems) + ".", data: data));
    }
}
