using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Specification.Tests;
using ChitChat.Transport;

namespace ChitChat.Redis.Tests;

/// <summary>The delivery specification on a real redis-server: every node is its own transport with its own multiplexer.</summary>
public sealed class RedisDeliveryEngineTests(RedisServerFixture redis) : DeliveryEngineSpecification, IClassFixture<RedisServerFixture>
{
    private readonly RedisTestNodes _nodes = new(redis.ConnectionString);

    protected override Task<IReadOnlyList<IChatTransport>> CreateNodesAsync(int count) => _nodes.ConnectedTransportsAsync(count);

    protected override ValueTask DisposeNodesAsync(IReadOnlyList<IChatTransport> nodes) => _nodes.DisposeAsync();
}
