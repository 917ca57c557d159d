using System.Diagnostics;
using System.Diagnostics.Metrics;

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

    private ChitChatMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(ChitChatDiagnostics.MeterName);
        MessagesSent = Meter.CreateCounter<long>("chitchat.messages.sent", "{message}", "Messages persisted (deduplicated retries are not counted).");
        MessagesDelivered = Meter.CreateCounter<long>("chitchat.messages.delivered", "{message}", "Messages delivered to client connections.");
        SendDuration = Meter.CreateHistogram<double>("chitchat.message.send.duration", "s", "Time to validate, persist and publish a message.");
        SendRejected = Meter.CreateCounter<long>("chitchat.messages.rejected", "{message}", "Sends rejected, tagged by error code.");
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
}
