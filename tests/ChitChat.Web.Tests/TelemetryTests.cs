using System.Net;

namespace ChitChat.Web.Tests;

/// <summary>The sample's telemetry wiring (<c>AddChitChatTelemetry</c>, <c>MapChitChatTelemetry</c>) with its shipped settings.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task The_sample_maps_no_scrape_endpoint_by_default()
    {
        await using var server = ChitChatServer.Start();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var response = await http.GetAsync("metrics", TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_sample_serves_Prometheus_metrics_once_enabled_by_configuration()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Telemetry:Prometheus:Enabled"] = "true" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var response = await http.GetAsync("metrics", TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("service_name=\"ChitChat.Web\"", text, StringComparison.Ordinal);
    }
}
