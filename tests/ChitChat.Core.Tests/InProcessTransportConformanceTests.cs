using ChitChat.Specification.Tests;
using ChitChat.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Core.Tests;

public sealed class InProcessTransportConformanceTests : TransportConformanceTests
{
    protected override Task<IReadOnlyList<IChatTransport>> CreateNodesAsync(int count)
    {
        // One process is one node: every "node" is the same instance.
        var transport = new InProcessTransport(NullLogger<InProcessTransport>.Instance);
        return Task.FromResult<IReadOnlyList<IChatTransport>>(Enumerable.Repeat<IChatTransport>(transport, count).ToArray());
    }
}
