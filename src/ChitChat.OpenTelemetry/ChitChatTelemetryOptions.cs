using System.Globalization;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;

namespace ChitChat.OpenTelemetry;

/// <summary>
/// What <c>builder.AddChitChatTelemetry()</c> exports. Bound from <c>ChitChat:Telemetry</c> and validated at start-up.
/// Nothing is exported and nothing is mapped unless <see cref="Prometheus"/> is enabled or an OTLP endpoint is configured.
/// </summary>
public sealed class ChitChatTelemetryOptions
{
    /// <summary>
    /// Gets or sets the <c>service.name</c> of the resource (<c>ChitChat:Telemetry:ServiceName</c>). When not set, the
    /// standard <c>OTEL_SERVICE_NAME</c> (or <c>service.name</c> in <c>OTEL_RESOURCE_ATTRIBUTES</c>) is used, else the
    /// application name of the host.
    /// </summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? ServiceName { get; set; }

    /// <summary>Gets the Prometheus scrape endpoint settings (<c>ChitChat:Telemetry:Prometheus</c>).</summary>
    public ChitChatPrometheusOptions Prometheus { get; } = new();

    /// <summary>Gets the OTLP exporter settings (<c>ChitChat:Telemetry:Otlp</c>).</summary>
    public ChitChatOtlpOptions Otlp { get; } = new();
}

/// <summary>The Prometheus scrape endpoint (<c>ChitChat:Telemetry:Prometheus</c>).</summary>
public sealed class ChitChatPrometheusOptions
{
    /// <summary>Gets or sets whether metrics are served for Prometheus to scrape at <see cref="Path"/> (mapped by
    /// <c>app.MapChitChatTelemetry()</c>). The endpoint is anonymous unless conventions on what that method returns say
    /// otherwise.</summary>
    /// <value>Default <see langword="false"/>: nothing is mapped.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the path of the scrape endpoint; it starts with <c>/</c>.</summary>
    /// <value>Default <c>/metrics</c>.</value>
    public string Path { get; set; } = ChitChatTelemetry.DefaultPrometheusPath;
}

/// <summary>
/// The OTLP exporter of metrics and traces (<c>ChitChat:Telemetry:Otlp</c>). It is added when <see cref="Endpoint"/> or the
/// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (or, for one signal, <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c> /
/// <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>). Values set here win over the standard <c>OTEL_EXPORTER_OTLP_*</c> variables,
/// which the exporter reads for everything not set here.
/// </summary>
public sealed class ChitChatOtlpOptions
{
    /// <summary>
    /// Gets or sets the collector's base address, like <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>: with
    /// <see cref="OtlpExportProtocol.HttpProtobuf"/> the signal paths <c>v1/metrics</c> and <c>v1/traces</c> are appended
    /// (<c>http://collector:4318</c>); with gRPC it is used as it is (<c>http://collector:4317</c>). An absolute
    /// <c>http</c> or <c>https</c> URI.
    /// </summary>
    /// <value>Default <see langword="null"/>: the standard variables decide.</value>
    public string? Endpoint { get; set; }

    /// <summary>Gets or sets the protocol (<c>Grpc</c> or <c>HttpProtobuf</c>).</summary>
    /// <value>Default <see langword="null"/>: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, else gRPC.</value>
    public OtlpExportProtocol? Protocol { get; set; }

    /// <summary>Gets or sets headers sent with every export, as <c>key=value</c> pairs separated by commas (like
    /// <c>OTEL_EXPORTER_OTLP_HEADERS</c>; e.g. an API key of a hosted collector). Never logged.</summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? Headers { get; set; }

    /// <summary>Gets or sets how often metrics are exported, and the longest a finished span waits in the batch before it is
    /// exported.</summary>
    /// <value>Default <see langword="null"/>: the SDK's defaults (<c>OTEL_METRIC_EXPORT_INTERVAL</c>, else 60 s; spans 5 s).</value>
    public TimeSpan? ExportInterval { get; set; }
}

/// <summary>Validates <see cref="ChitChatTelemetryOptions"/> at start-up.</summary>
internal sealed class ChitChatTelemetryOptionsValidator : IValidateOptions<ChitChatTelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, ChitChatTelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.ServiceName is not null && string.IsNullOrWhiteSpace(options.ServiceName))
        {
            failures.Add("ChitChat:Telemetry:ServiceName must not be blank.");
        }

        if (string.IsNullOrEmpty(options.Prometheus.Path) || !options.Prometheus.Path.StartsWith('/'))
        {
            failures.Add($"ChitChat:Telemetry:Prometheus:Path must start with '/' (it is '{options.Prometheus.Path}').");
        }

        var otlp = options.Otlp;
        if (!string.IsNullOrWhiteSpace(otlp.Endpoint) && TryParseEndpoint(otlp.Endpoint) is null)
        {
            failures.Add($"ChitChat:Telemetry:Otlp:Endpoint must be an absolute http or https URI (it is '{otlp.Endpoint}').");
        }

        if (otlp.Protocol is { } protocol && !Enum.IsDefined(protocol))
        {
            failures.Add($"ChitChat:Telemetry:Otlp:Protocol must be Grpc or HttpProtobuf (it is '{protocol}').");
        }

        if (otlp.ExportInterval is { } interval && (interval <= TimeSpan.Zero || interval.TotalMilliseconds > int.MaxValue))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"ChitChat:Telemetry:Otlp:ExportInterval must be positive (it is {interval})."));
        }

        if (!string.IsNullOrWhiteSpace(otlp.Headers)
            && otlp.Headers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Any(h => h.IndexOf('=', StringComparison.Ordinal) <= 0))
        {
            failures.Add("ChitChat:Telemetry:Otlp:Headers must be key=value pairs separated by commas."); // the value is a secret: not echoed
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Parses an endpoint: an absolute http or https URI, else <see langword="null"/>.</summary>
    internal static Uri? TryParseEndpoint(string? value) =>
        Uri.TryCreate(value?.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;
}
