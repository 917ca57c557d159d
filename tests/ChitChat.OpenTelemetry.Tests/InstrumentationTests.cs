using System.Diagnostics;
using ChitChat.Accounts;
using ChitChat.Diagnostics;
using ChitChat.Messaging;
using ChitChat.OpenTelemetry.Tests.Infrastructure;
using ChitChat.Rooms;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ChitChat.OpenTelemetry.Tests;

/// <summary><c>AddChitChatInstrumentation()</c> on its own, for applications that configure OpenTelemetry themselves.</summary>
public sealed class InstrumentationTests
{
    private static readonly ActivitySource TestSource = new("ChitChat.OpenTelemetry.Tests");

    [Fact]
    public async Task AddChitChatInstrumentation_subscribes_providers_to_the_ChitChat_meter_and_source()
    {
        var metrics = new CollectingMetricExporter();
        var spans = new CollectingProcessor();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddChitChat(o => o.PasswordHashIterations = 1000);
        services.AddOpenTelemetry()
            .WithMetrics(m => m.AddChitChatInstrumentation().AddReader(new BaseExportingMetricReader(metrics)))
            .WithTracing(t => t.AddChitChatInstrumentation().AddSource(TestSource.Name).AddProcessor(spans));
        await using var provider = services.BuildServiceProvider();
        var meterProvider = provider.GetRequiredService<MeterProvider>();
        _ = provider.GetRequiredService<TracerProvider>();

        var room = await provider.GetRequiredService<RoomService>().EnsureDefaultRoomAsync().WaitAsync(Timeouts.Default);
        var user = await provider.GetRequiredService<AccountService>().RegisterAsync(new RegisterRequest("alice", "correct horse")).WaitAsync(Timeouts.Default);
        ActivityTraceId traceId;
        using (var parent = TestSource.StartActivity("test.send"))
        {
            Assert.NotNull(parent); // the tracer provider listens to the test's source
            traceId = parent.TraceId;
            await provider.GetRequiredService<MessageSender>()
                .SendAsync(new ChatIdentity(user.Id, user.UserName), new SendMessageRequest(RoomName.Parse(room.Name), "hello"))
                .WaitAsync(Timeouts.Default);
        }

        Assert.True(meterProvider.ForceFlush(30_000), "metric flush");
        Assert.Contains(ChitChatInstrumentNames.MessagesSent, metrics.Names);
        Assert.Contains(ChitChatInstrumentNames.SendDuration, metrics.Names);
        Assert.Contains((ChitChatInstrumentNames.SendActivity, traceId), spans.Ended); // ended with the send, under the test's span
    }

    private sealed class CollectingMetricExporter : BaseExporter<Metric>
    {
        private readonly Lock _gate = new();
        private readonly HashSet<string> _names = [];

        public string[] Names
        {
            get
            {
                lock (_gate)
                {
                    return [.. _names];
                }
            }
        }

        public override ExportResult Export(in Batch<Metric> batch)
        {
            lock (_gate)
            {
                foreach (var metric in batch)
                {
                    if (metric.MeterName == ChitChatTelemetry.MeterName)
                    {
                        _names.Add(metric.Name);
                    }
                }
            }

            return ExportResult.Success;
        }
    }

    private sealed class CollectingProcessor : BaseProcessor<Activity>
    {
        private readonly Lock _gate = new();
        private readonly List<(string Name, ActivityTraceId TraceId)> _ended = [];

        public (string Name, ActivityTraceId TraceId)[] Ended
        {
            get
            {
                lock (_gate)
                {
                    return [.. _ended];
                }
            }
        }

        public override void OnEnd(Activity data)
        {
            lock (_gate)
            {
                _ended.Add((data.OperationName, data.TraceId));
            }
        }
    }
}
