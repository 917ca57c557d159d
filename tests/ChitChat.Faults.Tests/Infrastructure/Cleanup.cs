namespace ChitChat.Faults.Tests.Infrastructure;

/// <summary>What a fault test started (nodes, clients, proxies), disposed in reverse order, also when the test failed.</summary>
internal sealed class Cleanup : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _resources = [];

    /// <summary>Registers a resource for disposal and returns it.</summary>
    public T Track<T>(T resource)
        where T : IAsyncDisposable
    {
        _resources.Add(resource);
        return resource;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _resources.Count - 1; i >= 0; i--)
        {
            await _resources[i].DisposeAsync();
        }

        _resources.Clear();
    }
}
