using ChitChat.OpenTelemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The entry point of ChitChat's telemetry in a host: OpenTelemetry metrics and traces, exported as configuration says.</summary>
public static class ChitChatTelemetryHostApplicationBuilderExtensions
{
    /// <summary>
    /// Sets up OpenTelemetry metrics and traces for a ChitChat host: the <c>ChitChat</c> meter and activity source, ASP.NET
    /// Core (requests, SignalR hub invocations), outgoing HTTP and .NET runtime metrics, the resource's <c>service.name</c>
    /// (<see cref="ChitChatTelemetryOptions.ServiceName"/>, else <c>OTEL_SERVICE_NAME</c>, else the application name), and
    /// the exporters configuration asks for:
    /// <list type="bullet">
    /// <item><c>ChitChat:Telemetry:Prometheus:Enabled</c> = <see langword="true"/>: a Prometheus scrape endpoint at
    /// <c>ChitChat:Telemetry:Prometheus:Path</c> (default <c>/metrics</c>), mapped by <c>app.MapChitChatTelemetry()</c>.</item>
    /// <item><c>ChitChat:Telemetry:Otlp:Endpoint</c> or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>: the OTLP exporter of
    /// metrics and traces (<c>ChitChat:Telemetry:Otlp:Protocol</c>, <c>:Headers</c>, <c>:ExportInterval</c>; the standard
    /// <c>OTEL_EXPORTER_OTLP_*</c> variables for the rest).</item>
    /// </list>
    /// When neither is configured nothing is exported and nothing is mapped. The options are bound from
    /// <c>ChitChat:Telemetry</c> and validated at start-up, and what is exported is logged then (event 8000). See
    /// <c>docs/observability.md</c>.
    /// </summary>
    /// <remarks>
    /// Exporters are registered with the services, so they follow the configuration (and <paramref name="configure"/>) as it
    /// is when this method runs; calling it again adds nothing more. Use the returned builder for more: your own sources,
    /// meters or exporters (<c>.WithTracing(t =&gt; t.AddSource("MyApp"))</c>).
    /// </remarks>
    /// <param name="builder">The host application builder (<c>WebApplication.CreateBuilder(args)</c>, <c>Host.CreateApplicationBuilder(args)</c>).</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The OpenTelemetry builder for further configuration.</returns>
    public static IOpenTelemetryBuilder AddChitChatTelemetry(this IHostApplicationBuilder builder, Action<ChitChatTelemetryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var otel = services.AddOpenTelemetry();
        if (services.Any(d => d.ServiceType == typeof(ChitChatTelemetryRegistration)))
        {
            return otel;
        }

        var configuration = builder.Configuration;
        var settings = new ChitChatTelemetryOptions();
        configuration.GetSection(ChitChatTelemetry.SectionName).Bind(settings);
        configure?.Invoke(settings);

        services.AddOptions<ChitChatTelemetryOptions>()
            .BindConfiguration(ChitChatTelemetry.SectionName)
            .ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChitChatTelemetryOptions>, ChitChatTelemetryOptionsValidator>());

        var serviceName = ResolveServiceName(settings, configuration, builder.Environment);
        var prometheusPath = string.IsNullOrEmpty(settings.Prometheus.Path) ? ChitChatTelemetry.DefaultPrometheusPath : settings.Prometheus.Path;
        var otlp = settings.Otlp;
        var otlpEndpoint = ChitChatTelemetryOptionsValidator.TryParseEndpoint(otlp.Endpoint);
        var otlpAll = otlpEndpoint is not null || IsSet(configuration, "OTEL_EXPORTER_OTLP_ENDPOINT");
        var otlpMetrics = otlpAll || IsSet(configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        var otlpTraces = otlpAll || IsSet(configuration, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        var registration = new ChitChatTelemetryRegistration
        {
            ServiceName = serviceName.Name,
            PrometheusEnabled = settings.Prometheus.Enabled,
            PrometheusPath = prometheusPath,
            OtlpMetrics = otlpMetrics ? Describe(otlpEndpoint, configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") : null,
            OtlpTraces = otlpTraces ? Describe(otlpEndpoint, configuration, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") : null,
        };
        services.AddSingleton(registration);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChitChatTelemetryStartup>());

        if (serviceName.FromChitChat)
        {
            otel.ConfigureResource(resource => resource.AddService(serviceName.Name));
        }

        otel.WithMetrics(metrics =>
        {
            metrics.AddChitChatInstrumentation()
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation();
            if (settings.Prometheus.Enabled)
            {
                metrics.AddPrometheusExporter(o => o.ScrapeEndpointPath = prometheusPath);
            }

            if (otlpMetrics)
            {
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    Configure(exporter, otlp, otlpEndpoint, "v1/metrics");
                    if (IntervalMilliseconds(otlp) is { } interval)
                    {
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
                    }
                });
            }
        });

        otel.WithTracing(tracing =>
        {
            tracing.AddChitChatInstrumentation()
                .AddAspNetCoreInstrumentation(o =>
                {
                    // Scrapes are not traced: they would be most of the spans of a quiet server.
                    var previous = o.Filter;
                    o.Filter = context => !(registration.PrometheusEnabled && context.Request.Path.StartsWithSegments(prometheusPath, StringComparison.OrdinalIgnoreCase))
                        && (previous?.Invoke(context) ?? true);
                })
                .AddHttpClientInstrumentation();
            if (otlpTraces)
            {
                tracing.AddOtlpExporter(exporter =>
                {
                    Configure(exporter, otlp, otlpEndpoint, "v1/traces");
                    if (IntervalMilliseconds(otlp) is { } interval)
                    {
                        exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = interval;
                    }
                });
            }
        });

        return otel;
    }

    /// <summary>Applies ChitChat's OTLP settings over what the exporter read from the standard variables.</summary>
    private static void Configure(OtlpExporterOptions exporter, ChitChatOtlpOptions otlp, Uri? endpoint, string signalPath)
    {
        if (otlp.Protocol is { } protocol)
        {
            exporter.Protocol = protocol;
        }

        if (endpoint is not null)
        {
            // Like OTEL_EXPORTER_OTLP_ENDPOINT: a base address, the signal's path appended for HTTP (an endpoint set in code is used verbatim).
            exporter.Endpoint = exporter.Protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/"), signalPath)
                : endpoint;
        }

        if (!string.IsNullOrWhiteSpace(otlp.Headers))
        {
            exporter.Headers = otlp.Headers;
        }
    }

    private static (string Name, bool FromChitChat) ResolveServiceName(ChitChatTelemetryOptions settings, IConfiguration configuration, IHostEnvironment environment)
    {
        if (!string.IsNullOrWhiteSpace(settings.ServiceName))
        {
            return (settings.ServiceName.Trim(), true);
        }

        // The SDK reads the standard variables itself; only name the service when they do not.
        if (configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } standard)
        {
            return (standard, false);
        }

        var attributes = configuration["OTEL_RESOURCE_ATTRIBUTES"];
        var fromAttributes = attributes?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .FirstOrDefault(pair => pair.Length == 2 && pair[0] == "service.name")?[1];
        return fromAttributes is { Length: > 0 } ? (fromAttributes, false) : (environment.ApplicationName, true);
    }

    /// <summary>The export interval in whole milliseconds (at least 1), or <see langword="null"/> when not set or invalid
    /// (the options validator then stops the host).</summary>
    private static int? IntervalMilliseconds(ChitChatOtlpOptions otlp) =>
        otlp.ExportInterval is { } interval && interval > TimeSpan.Zero && interval.TotalMilliseconds <= int.MaxValue
            ? Math.Max(1, (int)interval.TotalMilliseconds)
            : null;

    private static bool IsSet(IConfiguration configuration, string key) => !string.IsNullOrWhiteSpace(configuration[key]);

    /// <summary>Where a signal goes, for the start-up log: scheme, host and port only (never a path, query or credentials).</summary>
    private static string Describe(Uri? chitChatEndpoint, IConfiguration configuration, string signalKey)
    {
        var endpoint = chitChatEndpoint
            ?? ChitChatTelemetryOptionsValidator.TryParseEndpoint(configuration[signalKey])
            ?? ChitChatTelemetryOptionsValidator.TryParseEndpoint(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        return endpoint is null ? "on" : endpoint.GetLeftPart(UriPartial.Authority);
    }
}
