using ChitChat.MongoDB;
using Microsoft.Extensions.Time.Testing;

namespace ChitChat.MongoDB.Tests;

/// <summary>The optional change wake-up signal.</summary>
public sealed class WakeUpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Without_a_replica_set_the_wake_up_waits_the_full_time_on_the_store_clock()
    {
        var time = new FakeTimeProvider();
        using var store = new MongoChatStore(new global::MongoDB.Driver.MongoClient("mongodb://127.0.0.1:27017"), new MongoChatStoreOptions { Database = "wake" }, time);
        var ct = TestContext.Current.CancellationToken;

        var wait = store.WaitForChangeAsync(TimeSpan.FromSeconds(5), ct);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.False(await wait.WaitAsync(Timeout, ct));
        Assert.False(store.IsReplicaSet);
    }

    [Fact]
    public async Task On_a_replica_set_a_write_wakes_the_waiter()
    {
        var store = await MongoTestServer.CreateStoreAsync();
        try
        {
            if (!store.IsReplicaSet)
            {
                Assert.Skip("CHITCHAT_MONGO_URI points at a standalone server; change streams need a replica set (see docs/mongodb.md).");
            }

            var ct = TestContext.Current.CancellationToken;
            var wait = store.WaitForChangeAsync(Timeout, ct);
            var writes = 0;

            // The stream opens asynchronously: keep writing until the waiter sees one (bounded by the overall timeout).
            while (!wait.IsCompleted)
            {
                Assert.True(++writes < 10_000, "phase: waiting for the change stream to report a write");
                await ((ChitChat.Storage.IChatStore)store).Messages.AppendAsync(
                    new NewMessage(Guid.CreateVersion7(), "wake", Guid.CreateVersion7(), "a", $"m{writes}", DateTimeOffset.UtcNow, null), ct).WaitAsync(Timeout, ct);
            }

            Assert.True(await wait.WaitAsync(Timeout, ct));
        }
        finally
        {
            await MongoTestServer.DropAsync(store);
        }
    }
}
