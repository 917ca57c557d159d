using System.Diagnostics.Metrics;
using ChitChat.Delivery;
using ChitChat.Diagnostics;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

    [Fact]
    public async Task Delivery_counts_events_per_sink_and_the_connections_it_delivers_to()
    {
        await using var h = await ChatHarness.CreateAsync(services: s =>
        {
            s.RemoveAll<IChatTransport>();
            s.AddSingleton<IChatTransport, InProcessTransport>();
        });
        var meterFactory = h.Services.GetRequiredService<IMeterFactory>();
        using var events = new MetricCollector<long>(meterFactory, ChitChatDiagnostics.MeterName, ChitChatInstrumentNames.DeliveryEvents);
        using var connections = new MetricCollector<long>(meterFactory, ChitChatDiagnostics.MeterName, ChitChatInstrumentNames.Connections);
        var engine = h.Services.GetRequiredService<DeliveryEngine>();
        var alice = await h.UserAsync("alice");
        var sink = new SignalingDeliverySink();
        var connection = new ClientConnection("c1", alice, sink) { AnnouncesPresence = false };

        await engine.JoinAsync(connection, new RoomJoinRequest(RoomName.Parse("global"), null)).Timed();
        await engine.JoinAsync(connection, new RoomJoinRequest(RoomName.Parse("global"), null)).Timed();
        Assert.Equal(1, connections.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal("signaling", connections.GetMeasurementSnapshot()[0].Tags["sink"]);

        await h.SendAsync(alice, "global", "hello", "c-1").Timed();
        await sink.Message.Task.Timed();
        // Two events reach the sink: the message, and the member event of alice joining global by sending to it. Each is
        // counted right after the sink took it, on the pump's thread.
        await events.WaitForMeasurementsAsync(2).Timed();
        var delivered = events.GetMeasurementSnapshot();
        Assert.Equal(["member", "message"], delivered.Select(m => (string)m.Tags["event"]!).Order());
        Assert.All(delivered, m => Assert.Equal("signaling", m.Tags["sink"]));
        Assert.Equal(2, delivered.EvaluateAsCounter());

        await engine.DisconnectAsync(connection).Timed();
        await engine.DisconnectAsync(connection).Timed();
        Assert.Equal(0, connections.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    /// <summary>A sink that signals the first message it is handed (its tag is <c>signaling</c>).</summary>
    private sealed class SignalingDeliverySink : IDeliverySink
    {
        public TaskCompletionSource<MessagePosted> Message { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask AddAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask RemoveAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public void DeliverRemoved(string room, IReadOnlyList<ClientConnection> connections, string reason)
        {
        }

        public void Deliver(string room, RoomEvent roomEvent)
        {
            if (roomEvent is MessagePosted posted)
            {
                Message.TrySetResult(posted);
            }
        }
    }
}
