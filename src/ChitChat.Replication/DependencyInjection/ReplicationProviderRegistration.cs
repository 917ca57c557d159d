using ChitChat.Providers;
using ChitChat.Replication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: ChitChatProvider(typeof(ReplicationProviderRegistration))]

namespace ChitChat.Replication;

/// <summary>
/// <c>ChitChat:Replication:Enabled=true</c>: the router over <c>ChitChat:Replication:Primary</c> and <c>:Replicas</c> and the sync
/// service (unless <c>RunSync=false</c>). The store providers those sections name are registered before this runs.
/// </summary>
internal sealed class ReplicationProviderRegistration : IChitChatProviderRegistration
{
    public ChitChatProviderKind Kind => ChitChatProviderKind.Replication;

    public string Name => "Replication";

    public void Configure(IChitChatBuilder builder, IConfigurationSection configuration) => builder.AddReplication();
}
