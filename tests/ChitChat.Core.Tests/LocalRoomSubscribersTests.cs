using ChitChat.Transport;

namespace ChitChat.Core.Tests;

public sealed class LocalRoomSubscribersTests
{
    private static readonly UserTyping Event = new("r", Guid.NewGuid(), "alice");

    [Fact]
    public async Task Delivers_to_the_room_s_handlers_in_subscription_order_and_isolates_a_failing_one()
    {
        var failures = new List<(string Room, Exception Error)>();
        var registry = new LocalRoomSubscribers((room, ex) => failures.Add((room, ex)));
        var calls = new List<string>();
        registry.Add("r", (_, _) => { calls.Add("first"); return ValueTask.CompletedTask; });
        registry.Add("r", (_, _) => throw new InvalidOperationException("broken handler"));
        registry.Add("r", (_, _) => { calls.Add("third"); return ValueTask.CompletedTask; });
        registry.Add("other", (_, _) => { calls.Add("other room"); return ValueTask.CompletedTask; });

        await registry.DeliverAsync(Event).Timed();

        Assert.Equal(["first", "third"], calls);
        var failure = Assert.Single(failures);
        Assert.Equal("r", failure.Room);
        Assert.Equal("broken handler", failure.Error.Message);
    }

    [Fact]
    public async Task Disposing_stops_delivery_and_the_last_removal_empties_the_room()
    {
        var registry = new LocalRoomSubscribers((_, ex) => throw ex);
        var calls = 0;
        var a = registry.Add("r", (_, _) => { calls++; return ValueTask.CompletedTask; });
        var b = registry.Add("r", (_, _) => { calls += 10; return ValueTask.CompletedTask; });

        await a.DisposeAsync();
        await registry.DeliverAsync(Event).Timed();
        Assert.Equal(10, calls);
        Assert.True(registry.HasSubscribers("r"));

        Assert.True(registry.Remove(b)); // the room's last one
        Assert.False(registry.HasSubscribers("r"));
        Assert.True(registry.Remove(b)); // idempotent
        await registry.DeliverAsync(Event).Timed();
        Assert.Equal(10, calls);
    }

    [Fact]
    public async Task A_custom_removal_runs_once_after_delivery_to_the_subscription_stopped()
    {
        var registry = new LocalRoomSubscribers((_, ex) => throw ex);
        var delivered = 0;
        var removals = 0;
        var release = new TaskCompletionSource();
        var subscription = registry.Add("r", (_, _) => { delivered++; return ValueTask.CompletedTask; }, async s =>
        {
            removals++;
            await release.Task; // e.g. a network unsubscribe in progress: nothing is delivered meanwhile
            Assert.True(registry.Remove(s));
        });

        var disposing = subscription.DisposeAsync().AsTask();
        await registry.DeliverAsync(Event).Timed();
        Assert.Equal(0, delivered);
        Assert.True(registry.HasSubscribers("r"));

        release.SetResult();
        await disposing.Timed();
        await subscription.DisposeAsync();
        Assert.Equal(1, removals);
        Assert.False(registry.HasSubscribers("r"));
    }

    [Fact]
    public void A_subscription_of_another_registry_is_rejected()
    {
        var one = new LocalRoomSubscribers((_, _) => { });
        var two = new LocalRoomSubscribers((_, _) => { });
        var subscription = one.Add("r", (_, _) => ValueTask.CompletedTask);

        Assert.Throws<ArgumentException>(() => two.Remove(subscription));
        Assert.True(one.HasSubscribers("r"));
    }
}
