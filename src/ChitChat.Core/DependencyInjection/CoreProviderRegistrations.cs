using ChitChat.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: ChitChatProvider(typeof(InMemoryStoreRegistration))]
[assembly: ChitChatProvider(typeof(InProcessTransportRegistration))]

namespace ChitChat.Providers;

/// <summary><c>ChitChat:Store=InMemory</c>: the in-memory store of Core.</summary>
internal sealed class InMemoryStoreRegistration : IChitChatStoreProviderRegistration
{
    public ChitChatProviderKind Kind => ChitChatProviderKind.Store;

    public string Name => "InMemory";

    public void Configure(IChitChatBuilder builder, IConfigurationSection configuration) => builder.UseInMemoryStore();

    public void AddStoreFactory(IChitChatBuilder builder)
    {
        // AddChitChat registers the InMemory factory already.
    }
}

/// <summary><c>ChitChat:Transport=InProcess</c>: the in-process transport of Core.</summary>
internal sealed class InProcessTransportRegistration : IChitChatProviderRegistration
{
    public ChitChatProviderKind Kind => ChitChatProviderKind.Transport;

    public string Name => "InProcess";

    public void Configure(IChitChatBuilder builder, IConfigurationSection configuration) => builder.UseInProcessTransport();
}
