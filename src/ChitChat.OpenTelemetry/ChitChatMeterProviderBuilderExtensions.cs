using ChitChat.OpenTelemetry;

namespace OpenTelemetry.Metrics;

/// <summary>Adds ChitChat's metrics to an OpenTelemetry meter provider.</summary>
public static class ChitChatMeterProviderBuilderExtensions
{
    /// <summary>
    /// Subscribes to the <c>ChitChat</c> meter (<see cref="ChitChatTelemetry.MeterName"/>): sends, rejections, send
    /// latency, deliveries, connections and, with ChitChat.Replication, replication lag. The instruments are listed in
    /// <c>docs/observability.md</c> and named by <c>ChitChat.Diagnostics.ChitChatInstrumentNames</c>.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static MeterProviderBuilder AddChitChatInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(ChitChatTelemetry.MeterName);
    }
}
