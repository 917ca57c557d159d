using ChitChat.MongoDB;
using ChitChat.Storage;
using MongoDB.Bson;
using MongoDB.Driver;

namespace ChitChat.MongoDB.Tests;

/// <summary>MongoDB-specific behaviour against the server in <c>CHITCHAT_MONGO_URI</c> (skipped, visibly, without it).</summary>
public sealed class MongoStoreIntegrationTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly List<MongoChatStore> _stores = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await MongoTestServer.DropAsync(store);
        }
    }

    private async Task<MongoChatStore> NewStoreAsync(string? database = null, Action<MongoChatStoreOptions>? configure = null)
    {
        var store = await MongoTestServer.CreateStoreAsync(database, configure);
        _stores.Add(store);
        return store;
    }

    private static NewMessage Message(string room, string text, string? key = null) =>
        new(Guid.CreateVersion7(), room, Guid.CreateVersion7(), "author", text, DateTimeOffset.UtcNow, key);

    [Fact]
    public async Task InitializeAsync_creates_the_documented_indexes_and_is_idempotent()
    {
        var store = await NewStoreAsync();
        var ct = TestContext.Current.CancellationToken;
        await store.InitializeAsync(ct).WaitAsync(Timeout, ct); // a second start changes nothing and does not fail

        var indexes = await (await store.Database.GetCollection<BsonDocument>("chitchat_messages").Indexes.ListAsync(ct)).ToListAsync(ct);
        var seq = indexes.Single(i => i["name"] == "ux_room_seq");
        Assert.Equal(BsonDocument.Parse("{ room: 1, seq: 1 }"), seq["key"].AsBsonDocument);
        Assert.True(seq["unique"].ToBoolean());
        var cmid = indexes.Single(i => i["name"] == "ux_room_cmid");
        Assert.True(cmid["unique"].ToBoolean());
        Assert.Equal(BsonDocument.Parse("{ cmid: { $exists: true } }"), cmid["partialFilterExpression"].AsBsonDocument);
        Assert.Contains(indexes, i => i["name"] == "ix_pos");

        var users = await (await store.Database.GetCollection<BsonDocument>("chitchat_users").Indexes.ListAsync(ct)).ToListAsync(ct);
        Assert.True(users.Single(i => i["name"] == "ux_name_norm")["unique"].ToBoolean());
    }

    [Fact]
    public async Task Writers_on_two_clients_share_one_gap_free_sequence_and_one_idempotency_key()
    {
        var database = $"chitchat_test_{Guid.NewGuid():N}";
        var nodeA = await NewStoreAsync(database);
        var nodeB = await NewStoreAsync(database);
        IChatStore a = nodeA, b = nodeB;

        var appends = Enumerable.Range(0, 40).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).Messages.AppendAsync(Message("shared", $"m{i}"))));
        var retries = Enumerable.Range(0, 6).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).Messages.AppendAsync(Message("shared", "once", "same-key"))));
        var results = await Task.WhenAll(appends.Concat(retries)).WaitAsync(Timeout, TestContext.Current.CancellationToken);

        Assert.Equal(41, results.Count(r => r.Created));
        Assert.Single(results.Where(r => r.Message.ClientMessageId == "same-key").Select(r => r.Message.Id).Distinct());
        var stored = await a.Messages.QueryAsync("shared", new MessageQuery(0, null, 100), TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(1, 41).Select(i => (long)i), stored.Select(m => m.Seq));
        Assert.Equal(41, await b.Messages.GetLastSeqAsync("shared", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_reserved_but_uncommitted_position_holds_change_feed_readers_back_until_released()
    {
        var store = await NewStoreAsync();
        IChatStore chat = store;
        var ct = TestContext.Current.CancellationToken;
        var first = await chat.Messages.AppendAsync(Message("feed", "before"), ct).WaitAsync(Timeout, ct);

        // A slow writer reserved a position and has not written yet; a later writer commits a higher position.
        var slow = await store.ReservePositionsAsync(1).WaitAsync(Timeout, ct);
        var later = await chat.Messages.AppendAsync(Message("feed", "after"), ct).WaitAsync(Timeout, ct);

        var held = await chat.Replication.ReadChangesAsync(0, 100, ct).WaitAsync(Timeout, ct);
        Assert.Equal([first.Message.Id], held.Changes.Select(c => c.DocumentId));
        Assert.True(held.HeadPosition > held.Changes[^1].Position, "the head shows the committed change the reader must still wait for");

        await store.ReleasePositionsAsync(slow).WaitAsync(Timeout, ct);
        var released = await chat.Replication.ReadChangesAsync(held.NextCheckpoint(0), 100, ct).WaitAsync(Timeout, ct);
        Assert.Equal([later.Message.Id], released.Changes.Select(c => c.DocumentId));
    }

    [Fact]
    public async Task An_abandoned_reservation_stops_holding_readers_back_after_the_pending_timeout()
    {
        var store = await NewStoreAsync(configure: o => o.PendingWriteTimeout = TimeSpan.FromSeconds(1));
        IChatStore chat = store;
        var ct = TestContext.Current.CancellationToken;
        _ = await store.ReservePositionsAsync(1).WaitAsync(Timeout, ct); // the writer "crashes": never released
        var message = await chat.Messages.AppendAsync(Message("feed", "after crash"), ct).WaitAsync(Timeout, ct);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(Timeout);
        while (true)
        {
            var batch = await chat.Replication.ReadChangesAsync(0, 10, deadline.Token);
            if (batch.Changes.Any(c => c.DocumentId == message.Message.Id))
            {
                break;
            }

            Assert.False(deadline.IsCancellationRequested, "phase: waiting for the abandoned reservation to expire");
            await Task.Yield();
        }
    }

    [Fact]
    public async Task Stored_documents_use_the_fixed_field_names_and_standard_guids()
    {
        var store = await NewStoreAsync();
        IChatStore chat = store;
        var ct = TestContext.Current.CancellationToken;
        var appended = await chat.Messages.AppendAsync(Message("raw", "hello", "k1"), ct).WaitAsync(Timeout, ct);

        var raw = await store.Database.GetCollection<BsonDocument>("chitchat_messages").Find(new BsonDocument("room", "raw")).SingleAsync(ct);

        Assert.Equal(BsonBinarySubType.UuidStandard, raw["_id"].AsBsonBinaryData.SubType);
        Assert.Equal(appended.Message.Id, raw["_id"].AsBsonBinaryData.ToGuid(GuidRepresentation.Standard));
        Assert.Equal(1L, raw["seq"].ToInt64());
        Assert.Equal("k1", raw["cmid"].AsString);
        Assert.Equal(BsonType.DateTime, raw["sent"].BsonType);
        Assert.True(raw["pos"].ToInt64() > 0);
    }

    [Fact]
    public async Task Ping_answers_and_the_deployment_kind_is_detected()
    {
        var store = await NewStoreAsync();
        var ct = TestContext.Current.CancellationToken;

        await store.PingAsync(ct).WaitAsync(Timeout, ct);

        var hello = await store.Database.RunCommandAsync<BsonDocument>(new BsonDocument("hello", 1), cancellationToken: ct);
        Assert.Equal(hello.Contains("setName"), store.IsReplicaSet);
    }
}
