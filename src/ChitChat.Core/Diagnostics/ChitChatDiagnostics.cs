using System.Diagnostics;
using System.Diagnostics.Metrics;
using ChitChat.Delivery;
using ChitChat.Transport;

namespace ChitChat.Diagnostics;

/// <summary>The names users subscribe to for ChitChat's traces and metrics.</summary>
public static class ChitChatDiagnostics
{
    /// <summary>The name of the <see cref="ActivitySource"/>: <c>ChitChat</c>.</summary>
    public const string ActivitySourceName = "ChitChat";

    /// <summary>The name of the <see cref="Meter"/>: <c>ChitChat</c>.</summary>
    public const string MeterName = "ChitChat";

    /// <summary>Gets the activity source that ChitChat traces through.</summary>
    public static ActivitySource ActivitySource { get; } = new(ActivitySourceName);
}

/// <summary>ChitChat's metric instruments, created through <see cref="IMeterFactory"/>, one set per meter factory (that is,
/// per service provider). Room, user and message ids never become tags (cardinality).</summary>
internal sealed class ChitChatMetrics
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IMeterFactory, ChitChatMetrics> Instances = [];

    /// <summary>Histogram buckets for latencies in seconds, 1 ms to 10 s (the SDKs' default buckets suit milliseconds, and
    /// would put every send in the first one).</summary>
    internal static readonly InstrumentAdvice<double> LatencyAdvice = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private ChitChatMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(ChitChatDiagnostics.MeterName);
        MessagesSent = Meter.CreateCounter<long>(ChitChatInstrumentNames.MessagesSent, "{message}", "Messages persisted (deduplicated retries are not counted).");
        MessagesDelivered = Meter.CreateCounter<long>(ChitChatInstrumentNames.MessagesDelivered, "{message}", "Messages delivered to client connections.");
        SendDuration = Meter.CreateHistogram<double>(ChitChatInstrumentNames.SendDuration, "s", "Time to validate, persist and publish a message.", tags: null, advice: LatencyAdvice);
        SendRejected = Meter.CreateCounter<long>(ChitChatInstrumentNames.MessagesRejected, "{message}", "Sends rejected, tagged by error code.");
        MessagesUpdated = Meter.CreateCounter<long>(ChitChatInstrumentNames.MessagesUpdated, "{message}", "Message changes stored (edits, deletes, reaction changes; changes that changed nothing are not counted), tagged by change.");
        DeliveryEvents = Meter.CreateCounter<long>(ChitChatInstrumentNames.DeliveryEvents, "{event}", "Room events handed to a sink (once per sink with members in the room), tagged by sink and event.");
        Connections = Meter.CreateUpDownCounter<long>(ChitChatInstrumentNames.Connections, "{connection}", "Client connections the delivery engine delivers to on this node (from the first join until closed), tagged by sink.");
    }

    /// <summary>Gets the instruments of a meter factory, created on first use.</summary>
    /// <param name="meterFactory">The meter factory.</param>
    /// <returns>The instruments.</returns>
    public static ChitChatMetrics For(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        return Instances.GetValue(meterFactory, static f => new ChitChatMetrics(f));
    }

    /// <summary>Gets the meter.</summary>
    public Meter Meter { get; }

    /// <summary>Gets the counter of persisted messages.</summary>
    public Counter<long> MessagesSent { get; }

    /// <summary>Gets the counter of messages delivered to client connections.</summary>
    public Counter<long> MessagesDelivered { get; }

    /// <summary>Gets the send latency histogram in seconds.</summary>
    public Histogram<double> SendDuration { get; }

    /// <summary>Gets the counter of rejected sends (tag <c>code</c>).</summary>
    public Counter<long> SendRejected { get; }

    /// <summary>Gets the counter of stored message changes (tag <c>change</c>).</summary>
    public Counter<long> MessagesUpdated { get; }

    /// <summary>Gets the counter of events handed to sinks (tags <c>sink</c>, <c>event</c>).</summary>
    public Counter<long> DeliveryEvents { get; }

    /// <summary>Gets the up-down counter of connections the engine delivers to (tag <c>sink</c>).</summary>
    public UpDownCounter<long> Connections { get; }

    /// <summary>Gets the <c>change</c> tag of a message change: <c>edited</c>, <c>deleted</c> or <c>reactions</c>.</summary>
    /// <param name="change">The change.</param>
    /// <returns>The tag value.</returns>
    public static string ChangeTag(MessageChange change) => change switch
    {
        MessageChange.Edited => "edited",
        MessageChange.Deleted => "deleted",
        _ => "reactions",
    };

    /// <summary>Gets the <c>sink</c> tag of a sink: its type name without the <c>DeliverySink</c> suffix, lower case
    /// (<c>signalr</c>, <c>legacy</c>). One value per sink type, never per connection.</summary>
    /// <param name="sink">The sink.</param>
    /// <returns>The tag value.</returns>
    public static string SinkTag(IDeliverySink sink) =>
        SinkTags.GetOrAdd(sink.GetType(), static type =>
        {
            var name = type.Name;
            return (name.EndsWith("DeliverySink", StringComparison.Ordinal) && name.Length > "DeliverySink".Length ? name[..^"DeliverySink".Length] : name)
                .ToLowerInvariant();
        });

    /// <summary>Gets the <c>event</c> tag of a room event.</summary>
    /// <param name="roomEvent">The event.</param>
    /// <returns><c>message</c>, <c>messageUpdated</c>, <c>read</c>, <c>mention</c>, <c>presence</c>, <c>typing</c>, <c>member</c> or <c>other</c>.</returns>
    public static string EventTag(RoomEvent roomEvent) => roomEvent switch
    {
        MessagePosted => "message",
        MessageUpdated => "messageUpdated",
        ReadMarkerMoved => "read",
        UserMentioned => "mention",
        PresenceChanged => "presence",
        UserTyping => "typing",
        MembershipChanged => "member",
        _ => "other",
    };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, string> SinkTags = new();
}
