using ChitChat.Providers;
using ChitChat.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

[assembly: ChitChatProvider(typeof(RedisProviderRegistration))]

namespace ChitChat.Redis;

/// <summary>
/// <c>ChitChat:Transport=Redis</c> (options from <c>ChitChat:Redis</c>): the Redis transport, cross-node presence and the Redis
/// lease, so that a sync worker configured with Redis elects one syncer across machines.
/// </summary>
internal sealed class RedisProviderRegistration : IChitChatProviderRegistration
{
    public ChitChatProviderKind Kind => ChitChatProviderKind.Transport;

    public string Name => "Redis";

    public void Configure(IChitChatBuilder builder, IConfigurationSection configuration) => builder.UseRedisTransport();
}
