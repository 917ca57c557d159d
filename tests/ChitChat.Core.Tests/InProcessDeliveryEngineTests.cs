using ChitChat.Specification.Tests;
using ChitChat.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Core.Tests;

/// <summary>The delivery specification on the in-process transport: every "node" shares one transport instance.</summary>
public sealed class InProcessDeliveryEngineTests : DeliveryEngineSpecification
{
    protected override Task<IReadOnlyList<IChatTransport>> CreateNodesAsync(int count)
    {
        var transport = new InProcessTransport(NullLogger<InProcessTransport>.Instance);
        return Task.FromResult<IReadOnlyList<IChatTransport>>(Enumerable.Repeat<IChatTransport>(transport, count).ToArray());
    }
}
