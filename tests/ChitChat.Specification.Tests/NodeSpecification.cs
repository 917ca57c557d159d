namespace ChitChat.Specification.Tests;

/// <summary>
/// The base of the specification suites whose subject runs on several nodes sharing one backend (transports, rate
/// limiters, delivery engines over transports). Derive and supply <see cref="CreateNodesAsync"/>: N instances sharing one
/// backend stand for N nodes (a single-node implementation returns the same instance N times). What a test created is
/// disposed after it, last: a suite's own resources first (<see cref="DisposeTestAsync"/>), then the nodes.
/// </summary>
/// <typeparam name="TNode">The per-node subject.</typeparam>
public abstract class NodeSpecification<TNode> : IAsyncDisposable
    where TNode : class
{
    /// <summary>The overall timeout of one wait.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly List<IReadOnlyList<TNode>> _created = [];

    /// <summary>Creates <paramref name="count"/> instances that share one backend (one per node).</summary>
    /// <param name="count">The number of nodes.</param>
    /// <returns>The instances.</returns>
    protected abstract Task<IReadOnlyList<TNode>> CreateNodesAsync(int count);

    /// <summary>Disposes the instances created by a test. The default disposes every distinct <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>.</summary>
    /// <param name="nodes">The instances.</param>
    /// <returns>A task that completes when disposed.</returns>
    protected virtual async ValueTask DisposeNodesAsync(IReadOnlyList<TNode> nodes)
    {
        foreach (var node in nodes.Distinct())
        {
            switch (node)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    /// <summary>Disposes what the suite itself created for a test (subscriptions, service providers), before the nodes.</summary>
    /// <returns>A task that completes when disposed.</returns>
    protected virtual ValueTask DisposeTestAsync() => ValueTask.CompletedTask;

    /// <summary>Creates the nodes of a test and remembers them for disposal.</summary>
    /// <param name="count">The number of nodes.</param>
    /// <returns>The instances.</returns>
    protected async Task<IReadOnlyList<TNode>> CreateTrackedNodesAsync(int count)
    {
        var nodes = await CreateNodesAsync(count).WaitAsync(Timeout);
        Assert.Equal(count, nodes.Count);
        _created.Add(nodes);
        return nodes;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await DisposeTestAsync();
        foreach (var nodes in _created)
        {
            await DisposeNodesAsync(nodes);
        }

        GC.SuppressFinalize(this);
    }
}
