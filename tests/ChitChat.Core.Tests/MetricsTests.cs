using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task A_send_counts_once_and_a_deduplicated_retry_does_not()
    {
        await using var h = await ChatHarness.CreateAsync();
        var meterFactory = h.Services.GetRequiredService<IMeterFactory>();
        using var sent = new MetricCollector<long>(meterFactory, "ChitChat", "chitchat.messages.sent");
        using var duration = new MetricCollector<double>(meterFactory, "ChitChat", "chitchat.message.send.duration");
        var alice = await h.UserAsync("alice");

        await h.SendAsync(alice, "global", "hello", "c-1").Timed();
        Assert.Equal(1, sent.GetMeasurementSnapshot().EvaluateAsCounter());

        await h.SendAsync(alice, "global", "hello", "c-1").Timed();
        Assert.Equal(1, sent.GetMeasurementSnapshot().EvaluateAsCounter());

        await h.SendAsync(alice, "global", "second", "c-2").Timed();
        Assert.Equal(2, sent.GetMeasurementSnapshot().EvaluateAsCounter());

        var durations = duration.GetMeasurementSnapshot();
        Assert.Equal(3, durations.Count);
        Assert.All(durations, m => Assert.True(m.Value >= 0, $"duration {m.Value}"));
    }

    [Fact]
    public async Task A_rejected_send_is_counted_by_code_and_not_as_sent()
    {
        await using var h = await ChatHarness.CreateAsync();
        var meterFactory = h.Services.GetRequiredService<IMeterFactory>();
        using var sent = new MetricCollector<long>(meterFactory, "ChitChat", "chitchat.messages.sent");
        using var rejected = new MetricCollector<long>(meterFactory, "ChitChat", "chitchat.messages.rejected");
        using var duration = new MetricCollector<double>(meterFactory, "ChitChat", "chitchat.message.send.duration");
        var alice = await h.UserAsync("alice");

        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.SendAsync(alice, "global", "", null));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.SendAsync(alice, "nowhere", "x", null));

        Assert.Empty(sent.GetMeasurementSnapshot());
        var codes = rejected.GetMeasurementSnapshot().Select(m => (m.Value, Code: m.Tags["code"])).ToArray();
        Assert.Equal([(1L, (object?)ChatErrorCodes.ValidationFailed), (1L, ChatErrorCodes.RoomNotFound)], codes);
        Assert.Equal(2, duration.GetMeasurementSnapshot().Count);
    }
}
