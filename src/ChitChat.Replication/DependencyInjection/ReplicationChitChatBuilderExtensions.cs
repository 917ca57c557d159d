using ChitChat;
using ChitChat.Replication;
using ChitChat.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds ChitChat replication: a read/write router over a primary and replicas, and the sync hosted service.</summary>
public static class ReplicationChitChatBuilderExtensions
{
    /// <summary>
    /// Adds replication, configured from <c>ChitChat:Replication</c> and then <paramref name="configure"/>, validated at start-up.
    /// The router replaces the <see cref="IChatStore"/> registered so far (call this after <c>UseSqlite</c>/<c>UseMongoDB</c>; it is
    /// used unchanged when <see cref="ReplicationOptions.Enabled"/> is <see langword="false"/>). Stores named in configuration are built
    /// with the registered <see cref="IChatStoreFactory"/> providers; instances can be supplied with
    /// <see cref="ReplicationOptions.UsePrimary"/> and <see cref="ReplicationOptions.AddReplica"/>. Also registers
    /// <see cref="IReplicationManager"/>, the <c>replication</c> health check and the replication metrics.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The same instance of the builder for chaining.</returns>
    public static IChitChatBuilder AddReplication(this IChitChatBuilder builder, Action<ReplicationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(ReplicationMarker)))
        {
            services.AddSingleton<ReplicationMarker>();
            services.AddOptions<ReplicationOptions>()
                .BindConfiguration(ReplicationOptions.SectionName)
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReplicationOptions>, ReplicationOptionsValidator>());
            services.AddMetrics();
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<ReplicaSet>();
            services.TryAddSingleton<ReplicatedChatStore>();
            services.TryAddSingleton<ReplicationMetrics>();
            services.TryAddSingleton<SyncLeadership>();
            services.TryAddSingleton<IncrementalSync>();
            services.TryAddSingleton<AntiEntropy>();
            services.TryAddSingleton<ReplicationManager>();
            services.TryAddSingleton<IReplicationManager>(sp => sp.GetRequiredService<ReplicationManager>());
            services.AddHostedService<ReplicationHostedService>();
            services.AddHealthChecks().AddCheck<ReplicationHealthCheckAdapter>("replication", HealthStatus.Unhealthy, ["chitchat", "replication"]);

            var previous = services.LastOrDefault(d => d.ServiceType == typeof(IChatStore));
            services.RemoveAll<IChatStore>();
            services.AddSingleton<IChatStore>(sp =>
            {
                if (sp.GetRequiredService<IOptions<ReplicationOptions>>().Value.Enabled)
                {
                    return sp.GetRequiredService<ReplicatedChatStore>();
                }

                return previous switch
                {
                    null => throw new InvalidOperationException("ChitChat:Replication:Enabled is false and no store was registered before AddReplication: call UseSqlite/UseMongoDB/UseInMemoryStore first."),
                    { ImplementationInstance: IChatStore instance } => instance,
                    { ImplementationFactory: { } factory } => (IChatStore)factory(sp),
                    { ImplementationType: { } type } => (IChatStore)ActivatorUtilities.CreateInstance(sp, type),
                    _ => throw new InvalidOperationException("The store registered before AddReplication cannot be created."),
                };
            });
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return builder;
    }

    private sealed class ReplicationMarker;
}
