using ChitChat.OpenTelemetry;

namespace OpenTelemetry.Trace;

/// <summary>Adds ChitChat's traces to an OpenTelemetry tracer provider.</summary>
public static class ChitChatTracerProviderBuilderExtensions
{
    /// <summary>
    /// Subscribes to the <c>ChitChat</c> activity source (<see cref="ChitChatTelemetry.ActivitySourceName"/>): a
    /// <c>chitchat.send</c> span per send and, with ChitChat.Replication, <c>chitchat.replication.sync</c>,
    /// <c>chitchat.replication.verify</c> and <c>chitchat.replication.repair</c>.
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static TracerProviderBuilder AddChitChatInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(ChitChatTelemetry.ActivitySourceName);
    }
}
