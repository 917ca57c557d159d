using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.OpenTelemetry;

/// <summary>What <c>AddChitChatTelemetry</c> decided from configuration when it registered the exporters (they are
/// registered with the services, so the decision is taken then, not when options are read).</summary>
internal sealed class ChitChatTelemetryRegistration
{
    public required string ServiceName { get; init; }

    public required bool PrometheusEnabled { get; init; }

    public required string PrometheusPath { get; init; }

    /// <summary>Where OTLP metrics go, for the start-up log (scheme, host and port only), or <see langword="null"/>.</summary>
    public required string? OtlpMetrics { get; init; }

    /// <summary>Where OTLP traces go, for the start-up log, or <see langword="null"/>.</summary>
    public required string? OtlpTraces { get; init; }

    /// <summary>Set by <c>MapChitChatTelemetry</c> once it has mapped the scrape endpoint.</summary>
    public bool PrometheusMapped { get; set; }
}

/// <summary>Validates the options at start-up (through <c>ValidateOnStart</c>) and logs what is exported.</summary>
internal sealed class ChitChatTelemetryStartup(
    ChitChatTelemetryRegistration registration,
    IOptions<ChitChatTelemetryOptions> options,
    ILogger<ChitChatTelemetryStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = options.Value;
        const string Off = "off";
        TelemetryLog.Exporting(
            logger,
            registration.ServiceName,
            registration.PrometheusEnabled ? registration.PrometheusPath : Off,
            registration.OtlpMetrics ?? Off,
            registration.OtlpTraces ?? Off);
        if (registration.PrometheusEnabled && !registration.PrometheusMapped)
        {
            TelemetryLog.PrometheusNotMapped(logger, registration.PrometheusPath);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
