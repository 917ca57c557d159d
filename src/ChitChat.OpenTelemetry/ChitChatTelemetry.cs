using ChitChat.Diagnostics;

namespace ChitChat.OpenTelemetry;

/// <summary>The names an OpenTelemetry setup needs for ChitChat: its meter, its activity source and its configuration section.</summary>
public static class ChitChatTelemetry
{
    /// <summary>The name of the meter every ChitChat instrument is on: <c>ChitChat</c> (for <c>AddMeter</c>).</summary>
    public const string MeterName = ChitChatDiagnostics.MeterName;

    /// <summary>The name of the activity source ChitChat traces through: <c>ChitChat</c> (for <c>AddSource</c>).</summary>
    public const string ActivitySourceName = ChitChatDiagnostics.ActivitySourceName;

    /// <summary>The configuration section of <see cref="ChitChatTelemetryOptions"/>: <c>ChitChat:Telemetry</c>.</summary>
    public const string SectionName = "ChitChat:Telemetry";

    /// <summary>The default path of the Prometheus scrape endpoint: <c>/metrics</c>.</summary>
    public const string DefaultPrometheusPath = "/metrics";
}
