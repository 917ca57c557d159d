using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Specification.Tests;
using ChitChat.Transport;

namespace ChitChat.Redis.Tests;

/// <summary>The transport conformance suite on a real redis-server: every node is its own transport with its own multiplexer.</summary>
public sealed class RedisTransportConformanceTests(RedisServerFixture redis) : TransportConformanceTests, IClassFixture<RedisServerFixture>
{
    private readonly RedisTestNodes _nodes = new(redis.ConnectionString);

    protected override Task<IReadOnlyList<IChatTransport>> CreateNodesAsync(int count) => _nodes.ConnectedTransportsAsync(count);

    protected override ValueTask DisposeNodesAsync(IReadOnlyList<IChatTransport> nodes) => _nodes.DisposeAsync();
}
