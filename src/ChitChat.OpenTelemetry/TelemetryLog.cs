using Microsoft.Extensions.Logging;

namespace ChitChat.OpenTelemetry;

/// <summary>The package's logs (event ids 8000-8999).</summary>
internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = 8000, EventName = "TelemetryExporting", Level = LogLevel.Information, Message = "ChitChat telemetry: service {ServiceName}; Prometheus scrape endpoint {Prometheus}; OTLP metrics {OtlpMetrics}, traces {OtlpTraces}.")]
    public static partial void Exporting(ILogger logger, string serviceName, string prometheus, string otlpMetrics, string otlpTraces);

    [LoggerMessage(EventId = 8001, EventName = "PrometheusNotMapped", Level = LogLevel.Warning, Message = "ChitChat:Telemetry:Prometheus:Enabled is true but app.MapChitChatTelemetry() was not called: nothing serves {Path}.")]
    public static partial void PrometheusNotMapped(ILogger logger, string path);
}
