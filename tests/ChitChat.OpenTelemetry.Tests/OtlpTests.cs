using ChitChat.Contracts;
using ChitChat.Diagnostics;
using ChitChat.OpenTelemetry.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.OpenTelemetry.Tests;

public sealed class OtlpTests
{
    [Fact]
    public async Task Metrics_and_traces_reach_an_OTLP_HTTP_collector_at_the_configured_endpoint()
    {
        await using var collector = await FakeOtlpReceiver.StartAsync();
        await using var server = await TelemetryServer.StartAsync(new Dictionary<string, string?>
        {
            ["ChitChat:Telemetry:ServiceName"] = "chitchat-otlp-test",
            ["ChitChat:Telemetry:Otlp:Endpoint"] = collector.BaseAddress.ToString(),
            ["ChitChat:Telemetry:Otlp:Protocol"] = "HttpProtobuf",
            ["ChitChat:Telemetry:Otlp:ExportInterval"] = "00:00:00.200",
        });
        var metrics = collector.WaitForAsync("/v1/metrics", ChitChatInstrumentNames.MessagesSent, ChitChatInstrumentNames.SendDuration, "chitchat-otlp-test");
        var traces = collector.WaitForAsync("/v1/traces", ChitChatInstrumentNames.SendActivity, "chitchat-otlp-test");

        var token = await server.NewUserAsync();
        var room = await server.NewRoomAsync(token);
        await server.SendAsync(token, room, "hello collector");

        await metrics.WaitAsync(Timeouts.Default);
        await traces.WaitAsync(Timeouts.Default);
        Assert.All(collector.ContentTypes, t => Assert.Equal("application/x-protobuf", t));
    }

    [Fact]
    public async Task A_replication_worker_exports_replication_lag_over_OTLP()
    {
        await using var collector = await FakeOtlpReceiver.StartAsync();
        // The replication worker's wiring (samples/ChitChat.Worker): a generic host, no HTTP server.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ApplicationName = "chitchat-worker-test" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ChitChat:Replication:Primary:Store"] = "InMemory",
            ["ChitChat:Replication:Replicas:r1:Store"] = "InMemory",
            ["ChitChat:Telemetry:Otlp:Endpoint"] = collector.BaseAddress.ToString(),
            ["ChitChat:Telemetry:Otlp:Protocol"] = "HttpProtobuf",
            ["ChitChat:Telemetry:Otlp:ExportInterval"] = "00:00:00.200",
        });
        builder.Logging.ClearProviders();
        builder.AddChitChat().AddReplication();
        builder.AddChitChatTelemetry();
        using var host = builder.Build();
        var metrics = collector.WaitForAsync(
            "/v1/metrics",
            ChitChatInstrumentNames.ReplicationLag,
            ChitChatInstrumentNames.ReplicationLagDocuments,
            ChitChatInstrumentNames.ReplicationLastSyncTime,
            "r1",
            "chitchat-worker-test");

        await host.StartAsync().WaitAsync(Timeouts.Default);
        try
        {
            await metrics.WaitAsync(Timeouts.Default); // the last sync time appears once a sync pass has succeeded
        }
        finally
        {
            await host.StopAsync().WaitAsync(Timeouts.Default);
        }
    }

    [Fact]
    public async Task Without_an_endpoint_nothing_is_exported_and_Prometheus_stays_off()
    {
        await using var server = await TelemetryServer.StartAsync();
        var registration = (ChitChatTelemetryRegistration)server.Services.GetService(typeof(ChitChatTelemetryRegistration))!;
        Assert.False(registration.PrometheusEnabled);
        Assert.Null(registration.OtlpMetrics);
        Assert.Null(registration.OtlpTraces);
        Assert.Equal("ChitChat.OpenTelemetry.Tests", registration.ServiceName);
    }

    [Fact]
    public async Task The_standard_OTEL_variable_alone_turns_OTLP_on()
    {
        await using var server = await TelemetryServer.StartAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318",
            ["OTEL_SERVICE_NAME"] = "from-otel-variable",
        });
        var registration = (ChitChatTelemetryRegistration)server.Services.GetService(typeof(ChitChatTelemetryRegistration))!;
        Assert.Equal("http://127.0.0.1:4318", registration.OtlpMetrics);
        Assert.Equal("http://127.0.0.1:4318", registration.OtlpTraces);
        Assert.Equal("from-otel-variable", registration.ServiceName);
    }

    [Theory]
    [InlineData("ChitChat:Telemetry:Otlp:Endpoint", "collector:4317", "ChitChat:Telemetry:Otlp:Endpoint")]
    [InlineData("ChitChat:Telemetry:Otlp:ExportInterval", "00:00:00", "ChitChat:Telemetry:Otlp:ExportInterval")]
    [InlineData("ChitChat:Telemetry:Prometheus:Path", "metrics", "ChitChat:Telemetry:Prometheus:Path")]
    [InlineData("ChitChat:Telemetry:Otlp:Headers", "api-key", "ChitChat:Telemetry:Otlp:Headers")]
    public async Task Invalid_settings_stop_the_host_at_start_up(string key, string value, string named)
    {
        // MapChitChatTelemetry or the host's start, whichever reads the options first, fails.
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var server = await TelemetryServer.StartAsync(new Dictionary<string, string?> { [key] = value });
        });
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
