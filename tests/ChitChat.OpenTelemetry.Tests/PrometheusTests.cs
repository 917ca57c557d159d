using System.Net;
using ChitChat.Contracts;
using ChitChat.OpenTelemetry.Tests.Infrastructure;

namespace ChitChat.OpenTelemetry.Tests;

public sealed class PrometheusTests
{
    [Fact]
    public async Task The_scrape_endpoint_shows_sends_deliveries_and_connections_once_enabled()
    {
        await using var server = await TelemetryServer.StartAsync(new Dictionary<string, string?>
        {
            ["ChitChat:Telemetry:Prometheus:Enabled"] = "true",
        });
        var token = await server.NewUserAsync();
        var room = await server.NewRoomAsync(token);
        var received = new TaskCompletionSource<MessageDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var hub = await server.JoinAsync(token, room, received);

        await server.SendAsync(token, room, "hello metrics");
        var message = await received.Task.WaitAsync(Timeouts.Default); // delivered: the engine has handed it to the SignalR sink
        Assert.Equal("hello metrics", message.Text);

        using var http = server.Http();
        using var response = await http.GetAsync("/metrics").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeouts.Default));

        Assert.True(Value(samples, "chitchat_messages_sent_total") >= 1, "chitchat_messages_sent_total");
        Assert.True(Value(samples, "chitchat_messages_delivered_total") >= 1, "chitchat_messages_delivered_total");
        Assert.True(Value(samples, "chitchat_delivery_events_total", ("sink", "signalr"), ("event", "message")) >= 1, "chitchat_delivery_events_total");
        Assert.Equal(1, Value(samples, "chitchat_connections", ("sink", "signalr")));
        Assert.True(Value(samples, "chitchat_message_send_duration_seconds_count") >= 1, "chitchat_message_send_duration_seconds_count");
        // Buckets in seconds (1 ms to 10 s), so that a p99 means something.
        var buckets = samples.Where(s => s.Name == "chitchat_message_send_duration_seconds_bucket").Select(s => s.Labels["le"]).ToArray();
        Assert.Contains("0.001", buckets);
        Assert.Contains("10", buckets);
        Assert.DoesNotContain("1000", buckets);
        // ASP.NET Core's meters are on too (the send request, the hub connection), as docs/observability.md says.
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_count");
        Assert.Equal(1, Value(samples, "signalr_server_active_connections"));
    }

    [Fact]
    public async Task Disabled_by_default_nothing_is_mapped()
    {
        await using var server = await TelemetryServer.StartAsync();
        using var http = server.Http();
        using var response = await http.GetAsync("/metrics").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_path_is_configurable()
    {
        await using var server = await TelemetryServer.StartAsync(new Dictionary<string, string?>
        {
            ["ChitChat:Telemetry:Prometheus:Enabled"] = "true",
            ["ChitChat:Telemetry:Prometheus:Path"] = "/internal/metrics",
        });
        using var http = server.Http();
        using var moved = await http.GetAsync("/internal/metrics").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        using var old = await http.GetAsync("/metrics").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }

    /// <summary>The sum of the samples named <paramref name="name"/> with the given labels (fails when there is none).</summary>
    private static double Value(IReadOnlyList<PrometheusSample> samples, string name, params (string Key, string Value)[] labels)
    {
        var matching = samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToArray();
        Assert.True(matching.Length > 0, $"no sample {name}{{{string.Join(",", labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} among: {string.Join(", ", samples.Select(s => s.Name).Distinct().Order())}");
        return matching.Sum(s => s.Value);
    }
}
