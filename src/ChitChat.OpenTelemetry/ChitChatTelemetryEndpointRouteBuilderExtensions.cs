using ChitChat.OpenTelemetry;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps ChitChat's telemetry endpoints.</summary>
public static class ChitChatTelemetryEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the Prometheus scrape endpoint at <c>ChitChat:Telemetry:Prometheus:Path</c> (default <c>/metrics</c>) when
    /// <c>ChitChat:Telemetry:Prometheus:Enabled</c> is <see langword="true"/>; otherwise maps nothing (the path answers
    /// 404). The endpoint is anonymous: restrict it with conventions on the returned builder
    /// (<c>.RequireHost("*:9464")</c>, <c>.RequireAuthorization(...)</c>) when the port is public. Requires
    /// <c>builder.AddChitChatTelemetry()</c>. See <c>docs/observability.md</c>.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A builder for conventions on the telemetry endpoints (empty when Prometheus is disabled).</returns>
    /// <exception cref="InvalidOperationException"><c>builder.AddChitChatTelemetry()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapChitChatTelemetry(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var registration = endpoints.ServiceProvider.GetService<ChitChatTelemetryRegistration>()
            ?? throw new InvalidOperationException("Call builder.AddChitChatTelemetry() before app.MapChitChatTelemetry().");
        _ = endpoints.ServiceProvider.GetRequiredService<IOptions<ChitChatTelemetryOptions>>().Value; // invalid settings fail here, before anything is mapped
        var group = endpoints.MapGroup(string.Empty);
        if (registration.PrometheusEnabled)
        {
            group.MapPrometheusScrapingEndpoint(registration.PrometheusPath).WithDisplayName("ChitChat Prometheus scrape");
            registration.PrometheusMapped = true;
        }

        return group;
    }
}
