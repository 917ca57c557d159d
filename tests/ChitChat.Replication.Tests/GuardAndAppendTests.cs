using ChitChat.InMemory;
using ChitChat.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ChitChat.Contracts;

namespace ChitChat.Replication.Tests;

/// <summary>The guard every manager entry point takes (VerifyAsync included), the router's two-step append, and what a replica keeps of a message.</summary>
public sealed class GuardAndAppendTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task VerifyAsync_waits_for_the_pass_running_on_this_node_like_sync_and_repair()
    {
        var primary = new InMemoryChatStore(_time);
        var replica = new FaultyStore(new InMemoryChatStore(_time));
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, null, _time);
        await rig.InitializeAsync();
        var users = await SqliteReplicationTests.CreateUsersAsync(primary, 2);
        var rooms = await SqliteReplicationTests.CreateRoomsAsync(primary, 1);
        await SqliteReplicationTests.WriteMessagesAsync(primary, users, rooms, 30, "guard");

        var syncEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseSync = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        replica.BeforeApply = async (_, _) =>
        {
            syncEntered.TrySetResult();
            await releaseSync.Task.WaitAsync(Timeout);
        };
        var scansDuringSync = 0;
        replica.BeforeScan = _ =>
        {
            if (!releaseSync.Task.IsCompleted)
            {
                Interlocked.Increment(ref scansDuringSync);
            }
        };

        var sync = rig.Manager.SyncNowAsync();
        await syncEntered.Task.WaitAsync(Timeout); // the pass holds the guard, paused before its first write
        var verify = rig.Manager.VerifyAsync();
        await Data.WaitUntilAsync(() => Task.FromResult(rig.Internal.PassesWaiting == 1 || verify.IsCompleted), "the verification queues behind the sync pass");
        Assert.False(verify.IsCompleted, "VerifyAsync compared the replica in the middle of a sync pass");

        releaseSync.SetResult();
        Assert.True((await sync.WaitAsync(Timeout)).Succeeded);
        var report = await verify.WaitAsync(Timeout);
        Assert.True(report.InSync, report.Summarize());
        Assert.Equal(0, scansDuringSync);
    }

    [Fact]
    public async Task VerifyAsync_after_disposal_throws_like_sync_and_repair()
    {
        var primary = new InMemoryChatStore(_time);
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = new InMemoryChatStore(_time) }, null, _time);
        await rig.InitializeAsync();
        var manager = rig.Manager;
        Assert.True((await manager.VerifyAsync().WaitAsync(Timeout)).InSync);

        await ((IAsyncDisposable)manager).DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => manager.SyncNowAsync().WaitAsync(Timeout));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => manager.RepairAsync().WaitAsync(Timeout));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => manager.VerifyAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_disabled_replication_has_no_manager_to_sync_or_verify_with()
    {
        await using var rig = new ReplicationRig(new InMemoryChatStore(_time), new Dictionary<string, IChatStore> { ["r1"] = new InMemoryChatStore(_time) }, o => o.Enabled = false, _time);
        var ex = Assert.Throws<InvalidOperationException>(() => rig.Services.GetRequiredService<IReplicationManager>());
        Assert.Contains("ChitChat:Replication:Enabled is false", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_router_forwards_the_two_step_append_so_pipelined_appends_are_sequenced_before_they_are_durable()
    {
        await using var sqlite = _dir.Sqlite("primary");
        var primary = new FaultyStore(sqlite);
        var replica = new InMemoryChatStore(_time);
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, o =>
        {
            o.ReadPreference = ReadPreference.ReplicaPreferred;
            o.MaxStaleness = TimeSpan.FromMinutes(5);
            o.OperationTimeout = TimeSpan.FromSeconds(60);
        }, _time);
        await rig.InitializeAsync();
        var user = Data.User("alice");
        var room = Data.Room("lobby");
        Assert.True(await rig.Router.Users.TryCreateAsync(user).WaitAsync(Timeout));
        Assert.True(await rig.Router.Rooms.TryCreateAsync(room).WaitAsync(Timeout));
        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        await rig.Set.RefreshAsync(CancellationToken.None).WaitAsync(Timeout);

        // The primary's durability is held: each append is started once the previous one is sequenced, as SendOrder does.
        var durability = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        primary.HoldDurable = durability.Task;
        var pending = new List<PendingAppend>();
        for (var i = 0; i < 300; i++)
        {
            var append = rig.Router.Messages.BeginAppend(Data.Message(room.Name, user, $"pipelined {i}", $"p{i}"));
            await append.Sequenced.WaitAsync(Timeout);
            pending.Add(append);
        }

        Assert.All(pending, p => Assert.False(p.Durable.IsCompleted, "durable before the primary's durability was released"));
        durability.SetResult();
        var results = await Task.WhenAll(pending.Select(p => p.Durable)).WaitAsync(Timeout);

        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), results.Select(r => r.Message.Seq));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"pipelined {i}"), results.Select(r => r.Message.Text));

        // Read-your-writes once durable: the replica (fresh by time, without these messages) does not serve the room.
        Assert.Empty(await replica.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 500)));
        var page = await rig.Router.Messages.QueryAsync(room.Name, new MessageQuery(0, null, 500)).WaitAsync(Timeout);
        Assert.Equal(results.Select(r => r.Message), page);
    }

    [Fact]
    public async Task A_two_step_append_to_a_primary_that_is_down_fails_both_steps_with_unavailable()
    {
        var primary = new FaultyStore(new InMemoryChatStore(_time));
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = new InMemoryChatStore(_time) }, null, _time);
        await rig.InitializeAsync();
        var user = Data.User("alice");
        Assert.True(await rig.Router.Users.TryCreateAsync(user).WaitAsync(Timeout));
        primary.Down = true;

        var append = rig.Router.Messages.BeginAppend(Data.Message("lobby", user, "lost?"));

        var durable = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => append.Durable.WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.Unavailable, durable.Code);
        await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => append.Sequenced.WaitAsync(Timeout));
        Assert.False(rig.Set.PrimaryReachable);
    }

    [Fact]
    public async Task A_message_origin_survives_sync_to_a_replica()
    {
        // In-memory replica: the SQLite store stores Origin from the storage branch on.
        var primary = new InMemoryChatStore(_time);
        var replica = new InMemoryChatStore(_time);
        await using var rig = new ReplicationRig(primary, new Dictionary<string, IChatStore> { ["r1"] = replica }, null, _time);
        await rig.InitializeAsync();
        var user = Data.User("alice");
        Assert.True(await rig.Router.Users.TryCreateAsync(user).WaitAsync(Timeout));
        var legacy = (await rig.Router.Messages.AppendAsync(Data.Message("lobby", user, "from a legacy socket") with { Origin = MessageOrigins.Legacy }).WaitAsync(Timeout)).Message;
        var native = (await rig.Router.Messages.BeginAppend(Data.Message("lobby", user, "from the hub")).Durable.WaitAsync(Timeout)).Message;
        Assert.Equal(MessageOrigins.Legacy, legacy.Origin);

        Assert.True((await rig.Manager.SyncNowAsync().WaitAsync(Timeout)).Succeeded);
        var page = await replica.Messages.QueryAsync("lobby", new MessageQuery(0, null, 10));
        Assert.Equal([MessageOrigins.Legacy, null], page.Select(m => m.Origin));
        Assert.Equal([legacy, native], page);
        Assert.True((await rig.Manager.VerifyAsync().WaitAsync(Timeout)).InSync);
    }
}
