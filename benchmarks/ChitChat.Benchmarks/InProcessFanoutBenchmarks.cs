using BenchmarkDotNet.Attributes;
using ChitChat.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Benchmarks;

/// <summary>
/// One <see cref="InProcessTransport.PublishAsync"/> of a <see cref="MessagePosted"/> to N subscribers of one room: the
/// per-message fan-out cost of a single node before any connection I/O. Handlers only count, so the time is the
/// transport's own dispatch (lookup, immutable-array iteration, one ValueTask per subscriber).
/// </summary>
[MemoryDiagnoser]
public class InProcessFanoutBenchmarks
{
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private InProcessTransport _transport = null!;
    private MessagePosted _event = null!;
    private long _delivered;

    /// <summary>Gets or sets the number of subscribers of the room.</summary>
    [Params(10, 100, 1000, 10000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _transport = new InProcessTransport(NullLogger<InProcessTransport>.Instance);
        var message = new ChatMessage(Guid.CreateVersion7(), "global", 1, Guid.CreateVersion7(), "alice", "hello, world", DateTimeOffset.UtcNow, "c-1", 1);
        _event = new MessagePosted(message);
        for (var i = 0; i < Subscribers; i++)
        {
            _subscriptions.Add(await _transport.SubscribeAsync("global", OnEvent));
        }

        // A few other rooms, so the lookup is not the only entry.
        for (var i = 0; i < 16; i++)
        {
            _subscriptions.Add(await _transport.SubscribeAsync($"room-{i}", OnEvent));
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var subscription in _subscriptions)
        {
            await subscription.DisposeAsync();
        }

        _subscriptions.Clear();
        if (_delivered == 0)
        {
            throw new InvalidOperationException("No event was delivered: the benchmark measured nothing.");
        }
    }

    /// <summary>Publishes one message to every subscriber of the room.</summary>
    /// <returns>A task that completes when every subscriber has handled the event.</returns>
    [Benchmark]
    public ValueTask PublishToRoom() => _transport.PublishAsync(_event);

    private ValueTask OnEvent(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        _delivered++;
        return ValueTask.CompletedTask;
    }
}
