using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChitChat.Hosting;

/// <summary>Healthy when the store answers a ping.</summary>
internal sealed class ChatStoreHealthCheck(IChatStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{store.ProviderName} store answers.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{store.ProviderName} store does not answer.", ex);
        }
    }
}

/// <summary>Healthy when the transport reaches every node; Degraded when it reaches this node only.</summary>
internal sealed class ChatTransportHealthCheck(IChatTransport transport) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(transport.Status == TransportStatus.Healthy
            ? HealthCheckResult.Healthy($"{transport.Name} transport is connected.")
            : HealthCheckResult.Degraded($"{transport.Name} transport is disconnected; events reach this node only."));
}
