using System.Text;
using ChitChat.Accounts;
using ChitChat.Messaging;
using ChitChat.Rooms;
using ChitChat.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ChitChat.Contracts;

namespace ChitChat.Specification.Tests;

/// <summary>
/// The behaviour every <see cref="IChatStore"/> provider must have. Derive from it and supply <see cref="CreateStoreAsync"/>;
/// xUnit creates one instance per test, so every test gets fresh, empty, initialized stores.
/// </summary>
public abstract partial class StoreConformanceTests : IAsyncLifetime
{
    /// <summary>The upper bound for any single awaited operation; generous because the machine may be loaded.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly List<IChatStore> _stores = [];
    private IChatStore? _store;

    /// <summary>Gets the store of the current test.</summary>
    protected IChatStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>Creates a fresh, empty, initialized store. May be called more than once per test (e.g. a replica).</summary>
    /// <returns>The store.</returns>
    protected abstract Task<IChatStore> CreateStoreAsync();

    /// <summary>Releases a store created by <see cref="CreateStoreAsync"/>. The default disposes it when it is disposable.</summary>
    /// <param name="store">The store.</param>
    /// <returns>A task that completes when released.</returns>
    protected virtual async ValueTask DisposeStoreAsync(IChatStore store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    /// <inheritdoc />
    public virtual async ValueTask InitializeAsync() => _store = await NewStoreAsync();

    /// <inheritdoc />
    public virtual async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await DisposeStoreAsync(store).AsTask().WaitAsync(Timeout);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Creates another store for this test (disposed with the test).</summary>
    /// <returns>The store.</returns>
    protected async Task<IChatStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync().WaitAsync(Timeout);
        _stores.Add(store);
        return store;
    }

    // ---------- users and rooms ----------

    [Fact]
    public async Task Two_concurrent_registrations_of_one_name_differing_in_case_create_exactly_one_user()
    {
        for (var round = 0; round < 10; round++)
        {
            var name = $"alice{round}";
            var lower = NewUser(name);
            var upper = NewUser(name.ToUpperInvariant());
            var results = await Task.WhenAll(
                Task.Run(() => Store.Users.TryCreateAsync(lower)),
                Task.Run(() => Store.Users.TryCreateAsync(upper))).WaitAsync(Timeout);

            Assert.Equal(1, results.Count(r => r));
            var winner = results[0] ? lower : upper;
            var found = await Store.Users.FindByNameAsync(name.ToUpperInvariant()).WaitAsync(Timeout);
            Assert.Equal(winner, found);
            Assert.Equal(winner, await Store.Users.FindByNameAsync(name).WaitAsync(Timeout));
            Assert.Equal(winner, await Store.Users.FindByIdAsync(winner.Id).WaitAsync(Timeout));
            Assert.Null(await Store.Users.FindByIdAsync((results[0] ? upper : lower).Id).WaitAsync(Timeout));
        }
    }

    [Fact]
    public async Task A_user_round_trips_and_a_taken_id_or_name_is_refused()
    {
        var user = NewUser("Bob.Smith") with { FirstName = "Bób", LastName = null };
        Assert.True(await Store.Users.TryCreateAsync(user).WaitAsync(Timeout));
        Assert.False(await Store.Users.TryCreateAsync(user with { UserName = "other" }).WaitAsync(Timeout));
        Assert.False(await Store.Users.TryCreateAsync(NewUser("BOB.smith")).WaitAsync(Timeout));
        Assert.Equal(user, await Store.Users.FindByNameAsync("bob.SMITH").WaitAsync(Timeout));
        Assert.Null(await Store.Users.FindByNameAsync("other").WaitAsync(Timeout));
        Assert.Null(await Store.Users.FindByIdAsync(Guid.NewGuid()).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Room_names_are_unique_and_rooms_list_by_name()
    {
        var lobby = NewRoom("lobby");
        var results = await Task.WhenAll(
            Task.Run(() => Store.Rooms.TryCreateAsync(lobby)),
            Task.Run(() => Store.Rooms.TryCreateAsync(NewRoom("lobby")))).WaitAsync(Timeout);
        Assert.Equal(1, results.Count(r => r));
        Assert.False(await Store.Rooms.TryCreateAsync(NewRoom("lobby")).WaitAsync(Timeout));
        Assert.True(await Store.Rooms.TryCreateAsync(NewRoom("alpha")).WaitAsync(Timeout));
        Assert.True(await Store.Rooms.TryCreateAsync(NewRoom("zulu")).WaitAsync(Timeout));

        var rooms = await Store.Rooms.ListAsync().WaitAsync(Timeout);
        Assert.Equal(["alpha", "lobby", "zulu"], rooms.Select(r => r.Name));
        var found = await Store.Rooms.FindByNameAsync("lobby").WaitAsync(Timeout);
        Assert.NotNull(found);
        Assert.Equal(found, rooms[1]);
        Assert.Null(await Store.Rooms.FindByNameAsync("nowhere").WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_room_round_trips_with_and_without_creator()
    {
        var byUser = NewRoom("made-by-user") with { CreatedBy = Guid.CreateVersion7() };
        var bySystem = NewRoom("made-by-system");
        Assert.True(await Store.Rooms.TryCreateAsync(byUser).WaitAsync(Timeout));
        Assert.True(await Store.Rooms.TryCreateAsync(bySystem).WaitAsync(Timeout));
        Assert.Equal(byUser, await Store.Rooms.FindByNameAsync("made-by-user").WaitAsync(Timeout));
        Assert.Equal(bySystem, await Store.Rooms.FindByNameAsync("made-by-system").WaitAsync(Timeout));
    }

    // ---------- appends ----------

    [Fact]
    public async Task Sixty_four_concurrent_appenders_get_sequence_numbers_1_to_N_without_gap_or_duplicate()
    {
        const int writers = 64;
        const int perWriter = 4;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            await start.Task;
            var seqs = new List<long>();
            for (var i = 0; i < perWriter; i++)
            {
                var result = await Store.Messages.AppendAsync(NewMessage("busy", $"w{w} m{i}"));
                Assert.True(result.Created);
                seqs.Add(result.Message.Seq);
            }

            return seqs;
        })).ToArray();
        start.SetResult();
        var all = (await Task.WhenAll(tasks).WaitAsync(Timeout)).SelectMany(s => s).Order().ToArray();

        const int total = writers * perWriter;
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), all);
        Assert.Equal(total, await Store.Messages.GetLastSeqAsync("busy").WaitAsync(Timeout));
        var stored = await Store.Messages.QueryAsync("busy", new MessageQuery(0, null, total + 10)).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), stored.Select(m => m.Seq));
        Assert.Equal(total, stored.Select(m => m.Text).Distinct().Count());
    }

    [Fact]
    public async Task Appends_started_once_the_previous_one_is_sequenced_are_numbered_in_that_order()
    {
        // One caller starts 300 appends (two rooms interleaved), each once the previous one is sequenced and without waiting
        // for any to be durable, as ordered pipelining does for a connection's sends; each room's numbers follow that order.
        var pending = new List<Task<AppendResult>>();
        for (var i = 0; i < 300; i++)
        {
            var append = Store.Messages.BeginAppend(NewMessage(i % 3 == 0 ? "called-b" : "called-a", $"call {i}"));
            pending.Add(append.Durable);
            await append.Sequenced.WaitAsync(Timeout);
        }

        var results = await Task.WhenAll(pending).WaitAsync(Timeout);

        foreach (var room in new[] { "called-a", "called-b" })
        {
            var inCallOrder = results.Where(r => r.Message.Room == room).ToArray();
            Assert.Equal(Enumerable.Range(1, inCallOrder.Length).Select(i => (long)i), inCallOrder.Select(r => r.Message.Seq));
        }
    }

    [Fact]
    public async Task Sequence_numbers_are_per_room()
    {
        Assert.Equal(1, (await Store.Messages.AppendAsync(NewMessage("one", "a")).WaitAsync(Timeout)).Message.Seq);
        Assert.Equal(2, (await Store.Messages.AppendAsync(NewMessage("one", "b")).WaitAsync(Timeout)).Message.Seq);
        Assert.Equal(1, (await Store.Messages.AppendAsync(NewMessage("two", "c")).WaitAsync(Timeout)).Message.Seq);
        Assert.Equal(2, await Store.Messages.GetLastSeqAsync("one").WaitAsync(Timeout));
        Assert.Equal(1, await Store.Messages.GetLastSeqAsync("two").WaitAsync(Timeout));
        Assert.Equal(0, await Store.Messages.GetLastSeqAsync("three").WaitAsync(Timeout));
    }

    [Fact]
    public async Task An_appended_message_round_trips_every_field()
    {
        var message = NewMessage("fields", "hello", "key-1");
        var result = await Store.Messages.AppendAsync(message).WaitAsync(Timeout);
        Assert.True(result.Created);
        Assert.Equal(message.ToMessage(1), result.Message);
        var read = Assert.Single(await Store.Messages.QueryAsync("fields", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
        Assert.Equal(message.ToMessage(1), read);
        Assert.Equal(read, await Store.Messages.FindByClientMessageIdAsync("fields", "key-1").WaitAsync(Timeout));
        Assert.Null(await Store.Messages.FindByClientMessageIdAsync("fields", "key-2").WaitAsync(Timeout));
        Assert.Null(await Store.Messages.FindByClientMessageIdAsync("other", "key-1").WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_retry_with_the_same_client_message_id_returns_the_original_and_stores_nothing()
    {
        var first = await Store.Messages.AppendAsync(NewMessage("retry", "original", "abc")).WaitAsync(Timeout);
        var retry = await Store.Messages.AppendAsync(NewMessage("retry", "a different text", "abc")).WaitAsync(Timeout);

        Assert.True(first.Created);
        Assert.False(retry.Created);
        Assert.Equal(first.Message, retry.Message);
        Assert.Equal("original", retry.Message.Text);
        Assert.Equal(1, await Store.Messages.GetLastSeqAsync("retry").WaitAsync(Timeout));
        Assert.Single(await Store.Messages.QueryAsync("retry", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Concurrent_retries_with_one_client_message_id_create_exactly_one_message()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(i => Task.Run(() => Store.Messages.AppendAsync(NewMessage("storm", $"attempt {i}", "same-key"))))).WaitAsync(Timeout);

        var created = Assert.Single(results, r => r.Created);
        Assert.All(results, r => Assert.Equal(created.Message, r.Message));
        Assert.Equal(1, await Store.Messages.GetLastSeqAsync("storm").WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_same_client_message_id_in_two_rooms_makes_two_messages()
    {
        var a = await Store.Messages.AppendAsync(NewMessage("room-a", "x", "shared")).WaitAsync(Timeout);
        var b = await Store.Messages.AppendAsync(NewMessage("room-b", "y", "shared")).WaitAsync(Timeout);

        Assert.True(a.Created);
        Assert.True(b.Created);
        Assert.NotEqual(a.Message.Id, b.Message.Id);
        Assert.Equal("x", (await Store.Messages.FindByClientMessageIdAsync("room-a", "shared").WaitAsync(Timeout))!.Text);
        Assert.Equal("y", (await Store.Messages.FindByClientMessageIdAsync("room-b", "shared").WaitAsync(Timeout))!.Text);
    }

    [Fact]
    public async Task Messages_without_client_message_id_are_never_deduplicated()
    {
        var a = await Store.Messages.AppendAsync(NewMessage("plain", "same")).WaitAsync(Timeout);
        var b = await Store.Messages.AppendAsync(NewMessage("plain", "same")).WaitAsync(Timeout);
        Assert.True(a.Created);
        Assert.True(b.Created);
        Assert.Equal(2, await Store.Messages.GetLastSeqAsync("plain").WaitAsync(Timeout));
    }

    // ---------- paging ----------

    [Fact]
    public async Task Paging_boundaries()
    {
        Assert.Empty(await Query(null, null, 10));
        for (var i = 1; i <= 10; i++)
        {
            await Store.Messages.AppendAsync(NewMessage("paged", $"m{i}")).WaitAsync(Timeout);
        }

        Assert.Equal(new long[] { 8, 9, 10 }, await Seqs(null, null, 3));             // latest N
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), await Seqs(null, null, 50)); // all, ascending
        Assert.Equal(new long[] { 2, 3, 4 }, await Seqs(null, 5, 3));                 // latest before 5
        Assert.Equal(new long[] { 6, 7, 8 }, await Seqs(5, null, 3));                 // earliest after 5
        Assert.Equal(new long[] { 3, 4, 5 }, await Seqs(2, 6, 10));                   // between, exclusive
        Assert.Equal(new long[] { 3, 4 }, await Seqs(2, 6, 2));                       // between, earliest first
        Assert.Equal(new long[] { 10 }, await Seqs(null, null, 1));                   // limit 1: the latest
        Assert.Equal(new long[] { 1 }, await Seqs(0, null, 1));                       // limit 1 after 0: the first
        Assert.Equal(new long[] { 4 }, await Seqs(null, 5, 1));
        Assert.Empty(await Seqs(null, 1, 10));                           // before 1: nothing
        Assert.Empty(await Seqs(10, null, 10));                          // after the last: nothing
        Assert.Empty(await Seqs(4, 5, 10));                              // empty interval
        Assert.Equal(new long[] { 1, 2 }, await Seqs(null, 3, 10));
        Assert.Empty(await Store.Messages.QueryAsync("empty-room", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
        Assert.Empty(await Store.Messages.QueryAsync("empty-room", new MessageQuery(0, null, 10)).WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.Messages.QueryAsync("paged", new MessageQuery(null, null, 0)));

        async Task<IReadOnlyList<ChatMessage>> Query(long? after, long? before, int limit) =>
            await Store.Messages.QueryAsync("paged", new MessageQuery(after, before, limit)).WaitAsync(Timeout);

        async Task<long[]> Seqs(long? after, long? before, int limit) => (await Query(after, before, limit)).Select(m => m.Seq).ToArray();
    }

    // ---------- unicode ----------

    [Fact]
    public async Task Unicode_text_round_trips_byte_exact()
    {
        string[] texts =
        [
            "emoji 👋🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️",
            "RTL שלום עולם — مرحبا بالعالم",
            "combining e\u0301 a\u0308 o\u0302\u0323 Z\u0351\u0352\u0353 (not normalized)",
            "CJK 你好，世界 こんにちは 안녕하세요 𠜎𠜱",
            "mixed\ttabs\r\nand lines\n\u200B zero width \uFEFF bom \u00A0 nbsp",
        ];
        for (var i = 0; i < texts.Length; i++)
        {
            await Store.Messages.AppendAsync(NewMessage("unicode", texts[i], $"u{i}")).WaitAsync(Timeout);
        }

        var stored = await Store.Messages.QueryAsync("unicode", new MessageQuery(null, null, 10)).WaitAsync(Timeout);
        Assert.Equal(texts.Length, stored.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(Encoding.UTF8.GetBytes(texts[i]), Encoding.UTF8.GetBytes(stored[i].Text));
            Assert.Equal(texts[i].Length, stored[i].Text.Length);
            var byKey = await Store.Messages.FindByClientMessageIdAsync("unicode", $"u{i}").WaitAsync(Timeout);
            Assert.Equal(texts[i], byKey!.Text, StringComparer.Ordinal);
        }

        var user = NewUser("unicode") with { FirstName = "Zoë e\u0301", LastName = "李 محمد 👍" };
        Assert.True(await Store.Users.TryCreateAsync(user).WaitAsync(Timeout));
        var read = await Store.Users.FindByIdAsync(user.Id).WaitAsync(Timeout);
        Assert.Equal(Encoding.UTF8.GetBytes(user.FirstName!), Encoding.UTF8.GetBytes(read!.FirstName!));
        Assert.Equal(Encoding.UTF8.GetBytes(user.LastName!), Encoding.UTF8.GetBytes(read.LastName!));
    }

    [Fact]
    public async Task Origin_round_trips_through_append_query_the_change_feed_and_ApplyAsync()
    {
        var legacy = NewMessage("origins", "from legacy", "k-legacy") with { Origin = MessageOrigins.Legacy };
        var appended = await Store.Messages.AppendAsync(legacy).WaitAsync(Timeout);
        Assert.Equal(legacy.ToMessage(1), appended.Message);
        Assert.Equal(MessageOrigins.Legacy, appended.Message.Origin);
        await Store.Messages.AppendAsync(NewMessage("origins", "native", "k-native")).WaitAsync(Timeout);

        // A retry without an origin returns the original, origin included.
        var retry = await Store.Messages.AppendAsync(NewMessage("origins", "retried", "k-legacy")).WaitAsync(Timeout);
        Assert.False(retry.Created);
        Assert.Equal(MessageOrigins.Legacy, retry.Message.Origin);

        string?[] origins = [MessageOrigins.Legacy, null];
        var page = await Store.Messages.QueryAsync("origins", new MessageQuery(0, null, 10)).WaitAsync(Timeout);
        Assert.Equal(origins, page.Select(m => m.Origin));
        Assert.Equal(origins, (await Store.Messages.QueryAsync("origins", new MessageQuery(null, null, 10)).WaitAsync(Timeout)).Select(m => m.Origin));
        Assert.Equal(MessageOrigins.Legacy, (await Store.Messages.FindByClientMessageIdAsync("origins", "k-legacy").WaitAsync(Timeout))!.Origin);
        Assert.Null((await Store.Messages.FindByClientMessageIdAsync("origins", "k-native").WaitAsync(Timeout))!.Origin);

        var feed = await Store.Replication.ReadChangesAsync(0, 100).WaitAsync(Timeout);
        Assert.Equal(page, feed.Changes.Where(c => c.Kind == DocumentKind.Message).OrderBy(c => c.Message!.Seq).Select(c => c.Message!));

        var scanned = new List<ChatMessage>();
        await foreach (var record in Store.Replication.ScanAsync(DocumentKind.Message).WithCancellation(TestContext.Current.CancellationToken))
        {
            scanned.Add(record.Message!);
        }

        Assert.Equal(page, scanned);

        // Replicated with the documents, and replaced in place by a newer version (last writer wins), not by an older one.
        var replica = await NewStoreAsync();
        Assert.Equal(2, await replica.Replication.ApplyAsync(new ReplicationWrite(feed.Changes, "src", 1, feed.NextCheckpoint(0))).WaitAsync(Timeout));
        Assert.Equal(page, await replica.Messages.QueryAsync("origins", new MessageQuery(0, null, 10)).WaitAsync(Timeout));

        var newer = page[0] with { Version = 2, Origin = "other" };
        Assert.Equal(1, await replica.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForMessage(10, Now, newer)], "src", 1, null)).WaitAsync(Timeout));
        Assert.Equal(0, await replica.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForMessage(11, Now, page[0])], "src", 1, null)).WaitAsync(Timeout));
        var stored = await replica.Messages.FindByClientMessageIdAsync("origins", "k-legacy").WaitAsync(Timeout);
        Assert.Equal(newer, stored);
        var replicaFeed = await replica.Replication.ReadChangesAsync(0, 100).WaitAsync(Timeout);
        Assert.Equal("other", replicaFeed.Changes.Single(c => c.DocumentId == newer.Id).Message!.Origin);
    }

    // ---------- change feed ----------

    [Fact]
    public async Task The_change_feed_returns_every_change_exactly_once_across_batches_and_resumes_from_a_checkpoint()
    {
        var expected = new HashSet<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var user = NewUser($"feeduser{i}");
            await Store.Users.TryCreateAsync(user).WaitAsync(Timeout);
            expected.Add(user.Id);
        }

        foreach (var name in new[] { "feed-a", "feed-b" })
        {
            var room = NewRoom(name);
            await Store.Rooms.TryCreateAsync(room).WaitAsync(Timeout);
            expected.Add(room.Id);
        }

        for (var i = 0; i < 45; i++)
        {
            var result = await Store.Messages.AppendAsync(NewMessage(i % 2 == 0 ? "feed-a" : "feed-b", $"m{i}")).WaitAsync(Timeout);
            expected.Add(result.Message.Id);
        }

        // Read three batches, remember the checkpoint, write more, then resume from the checkpoint.
        var seen = new List<ChangeRecord>();
        long checkpoint = 0;
        for (var i = 0; i < 3; i++)
        {
            var batch = await Store.Replication.ReadChangesAsync(checkpoint, 7).WaitAsync(Timeout);
            Assert.Equal(7, batch.Changes.Count);
            seen.AddRange(batch.Changes);
            checkpoint = batch.NextCheckpoint(checkpoint);
        }

        for (var i = 0; i < 5; i++)
        {
            var result = await Store.Messages.AppendAsync(NewMessage("feed-a", $"late{i}")).WaitAsync(Timeout);
            expected.Add(result.Message.Id);
        }

        var batches = 0;
        while (true)
        {
            var batch = await Store.Replication.ReadChangesAsync(checkpoint, 7).WaitAsync(Timeout);
            Assert.True(++batches < 100, "the change feed never ran dry");
            Assert.True(batch.Changes.Count <= 7);
            if (batch.Changes.Count > 0)
            {
                Assert.True(batch.HeadPosition >= batch.Changes[^1].Position);
            }

            if (batch.Changes.Count == 0)
            {
                Assert.Equal(checkpoint, batch.NextCheckpoint(checkpoint));
                break;
            }

            seen.AddRange(batch.Changes);
            checkpoint = batch.NextCheckpoint(checkpoint);
        }

        Assert.Equal(55, seen.Count);
        var positions = seen.Select(c => c.Position).ToArray();
        Assert.Equal(positions.Order().ToArray(), positions);            // ascending
        Assert.Equal(positions.Length, positions.Distinct().Count());    // strictly
        Assert.Equal(expected.Order(), seen.Select(c => c.DocumentId).Order());
        Assert.Equal(3, seen.Count(c => c.Kind == DocumentKind.User));
        Assert.Equal(2, seen.Count(c => c.Kind == DocumentKind.Room));
        Assert.Equal(positions[^1], await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));
        var feedA = seen.Where(c => c.Kind == DocumentKind.Message && c.Message!.Room == "feed-a").Select(c => c.Message!.Seq).ToArray();
        Assert.Equal(Enumerable.Range(1, 28).Select(i => (long)i), feedA);
    }

    [Fact]
    public async Task The_head_position_grows_with_every_write()
    {
        Assert.Equal(0, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));
        var empty = await Store.Replication.ReadChangesAsync(0, 10).WaitAsync(Timeout);
        Assert.Empty(empty.Changes);
        Assert.Equal(0, empty.HeadPosition);

        await Store.Users.TryCreateAsync(NewUser("headuser")).WaitAsync(Timeout);
        var afterUser = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);
        Assert.True(afterUser > 0);

        await Store.Messages.AppendAsync(NewMessage("head", "x")).WaitAsync(Timeout);
        var afterMessage = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);
        Assert.True(afterMessage > afterUser);

        // A refused write and a deduplicated retry change nothing.
        await Store.Users.TryCreateAsync(NewUser("HEADUSER")).WaitAsync(Timeout);
        Assert.Equal(afterMessage, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));

        var changes = await Store.Replication.ReadChangesAsync(0, 10).WaitAsync(Timeout);
        Assert.Equal(afterMessage, changes.HeadPosition);
        Assert.Equal(afterMessage, changes.Changes[^1].Position);
    }

    // ---------- replication sink ----------

    [Fact]
    public async Task Applying_a_write_twice_changes_nothing_the_second_time_and_keeps_sequence_numbers()
    {
        var (user, room, message) = Documents("applied");
        var write = new ReplicationWrite([ChangeRecord.ForUser(1, Now, user), ChangeRecord.ForRoom(2, Now, room), ChangeRecord.ForMessage(3, Now, message)], "primary", 1, 3);

        Assert.Equal(3, await Store.Replication.ApplyAsync(write).WaitAsync(Timeout));
        var head = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);
        Assert.Equal(0, await Store.Replication.ApplyAsync(write).WaitAsync(Timeout));
        Assert.Equal(head, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));

        Assert.Equal(user, await Store.Users.FindByNameAsync("applied").WaitAsync(Timeout));
        Assert.Equal(room, await Store.Rooms.FindByNameAsync("applied").WaitAsync(Timeout));
        Assert.Equal(message, Assert.Single(await Store.Messages.QueryAsync("applied", new MessageQuery(null, null, 10)).WaitAsync(Timeout)));
        Assert.Equal(7, await Store.Messages.GetLastSeqAsync("applied").WaitAsync(Timeout));
        Assert.Equal(message, await Store.Messages.FindByClientMessageIdAsync("applied", message.ClientMessageId!).WaitAsync(Timeout));

        // A local append continues after the replicated sequence number.
        Assert.Equal(8, (await Store.Messages.AppendAsync(NewMessage("applied", "next")).WaitAsync(Timeout)).Message.Seq);
    }

    [Fact]
    public async Task Last_writer_wins_by_version()
    {
        var (user, room, message) = Documents("lww");
        var v2 = user with { FirstName = "Second", Version = 2 };
        Assert.Equal(3, await Apply(1, ChangeRecord.ForUser(1, Now, v2), ChangeRecord.ForRoom(2, Now, room with { Version = 2 }), ChangeRecord.ForMessage(3, Now, message with { Version = 2, Text = "edited" })));

        // Older versions are ignored.
        Assert.Equal(0, await Apply(1, ChangeRecord.ForUser(4, Now, user), ChangeRecord.ForRoom(5, Now, room), ChangeRecord.ForMessage(6, Now, message)));
        Assert.Equal(v2, await Store.Users.FindByIdAsync(user.Id).WaitAsync(Timeout));
        Assert.Equal(2, (await Store.Rooms.FindByNameAsync("lww").WaitAsync(Timeout))!.Version);
        Assert.Equal("edited", (await Store.Messages.FindByClientMessageIdAsync("lww", message.ClientMessageId!).WaitAsync(Timeout))!.Text);

        // Newer versions replace.
        var v3 = user with { FirstName = "Third", UserName = "LWW", Version = 3 };
        Assert.Equal(2, await Apply(1, ChangeRecord.ForUser(7, Now, v3), ChangeRecord.ForMessage(8, Now, message with { Version = 3, Text = "again" })));
        Assert.Equal(v3, await Store.Users.FindByNameAsync("lww").WaitAsync(Timeout));
        var stored = Assert.Single(await Store.Messages.QueryAsync("lww", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
        Assert.Equal(message with { Version = 3, Text = "again" }, stored);

        // The feed carries each document once, at its latest version.
        var changes = (await Store.Replication.ReadChangesAsync(0, 100).WaitAsync(Timeout)).Changes;
        Assert.Equal(3, changes.Count);
        Assert.Equal(3, changes.Single(c => c.Kind == DocumentKind.User).DocumentVersion);
    }

    [Fact]
    public async Task The_checkpoint_is_stored_with_the_write_and_left_alone_when_not_given()
    {
        Assert.Null(await Store.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout));
        var (user, _, _) = Documents("checkpointed");
        await Store.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(40, Now, user)], "primary", 3, 40)).WaitAsync(Timeout);

        var checkpoint = await Store.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout);
        Assert.NotNull(checkpoint);
        Assert.Equal("primary", checkpoint.SourceId);
        Assert.Equal(40, checkpoint.Position);
        Assert.Equal(3, checkpoint.FencingToken);

        // A repair (no checkpoint) keeps the position; a higher token is remembered.
        await Store.Replication.ApplyAsync(new ReplicationWrite([], "primary", 5, null)).WaitAsync(Timeout);
        checkpoint = await Store.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout);
        Assert.Equal(40, checkpoint!.Position);
        Assert.Equal(5, checkpoint.FencingToken);

        await Store.Replication.ApplyAsync(new ReplicationWrite([], "primary", 5, 55)).WaitAsync(Timeout);
        Assert.Equal(55, (await Store.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout))!.Position);
        Assert.Null(await Store.Replication.GetCheckpointAsync("other").WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_stale_fencing_token_is_rejected_and_writes_nothing()
    {
        var (user, room, _) = Documents("fenced");
        await Store.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForUser(1, Now, user)], "primary", 7, 1)).WaitAsync(Timeout);
        var head = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);

        var stale = new ReplicationWrite([ChangeRecord.ForRoom(2, Now, room), ChangeRecord.ForUser(3, Now, user with { Version = 9 })], "primary", 6, 3);
        var ex = await Assert.ThrowsAsync<FencingTokenRejectedException>(() => Store.Replication.ApplyAsync(stale).WaitAsync(Timeout));
        Assert.Equal(6, ex.Offered);
        Assert.Equal(7, ex.Current);

        Assert.Null(await Store.Rooms.FindByNameAsync("fenced").WaitAsync(Timeout));
        Assert.Equal(1, (await Store.Users.FindByIdAsync(user.Id).WaitAsync(Timeout))!.Version);
        Assert.Equal(head, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));
        var checkpoint = await Store.Replication.GetCheckpointAsync("primary").WaitAsync(Timeout);
        Assert.Equal(1, checkpoint!.Position);
        Assert.Equal(7, checkpoint.FencingToken);

        // Another source has its own token.
        Assert.Equal(1, await Store.Replication.ApplyAsync(new ReplicationWrite([ChangeRecord.ForRoom(2, Now, room)], "secondary", 1, 2)).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Replicated_documents_win_unique_name_and_sequence_collisions_from_drift()
    {
        // Local writes that drifted from the primary.
        var localUser = NewUser("drifter");
        await Store.Users.TryCreateAsync(localUser).WaitAsync(Timeout);
        var localRoom = NewRoom("drift");
        await Store.Rooms.TryCreateAsync(localRoom).WaitAsync(Timeout);
        var local = await Store.Messages.AppendAsync(NewMessage("drift", "local", "k-local")).WaitAsync(Timeout);
        Assert.Equal(1, local.Message.Seq);

        var primaryUser = NewUser("DRIFTER");
        var primaryRoom = NewRoom("drift");
        var primaryMessage = new ChatMessage(Guid.CreateVersion7(), "drift", 1, primaryUser.Id, "DRIFTER", "from primary", Now, "k-primary", 1);
        Assert.Equal(3, await Apply(1, ChangeRecord.ForUser(1, Now, primaryUser), ChangeRecord.ForRoom(2, Now, primaryRoom), ChangeRecord.ForMessage(3, Now, primaryMessage)));

        Assert.Equal(primaryUser, await Store.Users.FindByNameAsync("drifter").WaitAsync(Timeout));
        Assert.Null(await Store.Users.FindByIdAsync(localUser.Id).WaitAsync(Timeout));
        Assert.Equal(primaryRoom, await Store.Rooms.FindByNameAsync("drift").WaitAsync(Timeout));
        Assert.Single(await Store.Rooms.ListAsync().WaitAsync(Timeout));
        Assert.Equal(primaryMessage, Assert.Single(await Store.Messages.QueryAsync("drift", new MessageQuery(null, null, 10)).WaitAsync(Timeout)));
        Assert.Null(await Store.Messages.FindByClientMessageIdAsync("drift", "k-local").WaitAsync(Timeout));

        // The change feed no longer carries the replaced documents.
        var ids = (await Store.Replication.ReadChangesAsync(0, 100).WaitAsync(Timeout)).Changes.Select(c => c.DocumentId).ToHashSet();
        Assert.Equal(new HashSet<Guid> { primaryUser.Id, primaryRoom.Id, primaryMessage.Id }, ids);
    }

    [Fact]
    public async Task A_store_replicates_into_another_store_through_the_change_feed()
    {
        await Store.Users.TryCreateAsync(NewUser("source")).WaitAsync(Timeout);
        await Store.Rooms.TryCreateAsync(NewRoom("copied")).WaitAsync(Timeout);
        for (var i = 0; i < 20; i++)
        {
            await Store.Messages.AppendAsync(NewMessage("copied", $"m{i}", $"k{i}")).WaitAsync(Timeout);
        }

        var replica = await NewStoreAsync();
        var position = (await replica.Replication.GetCheckpointAsync("src").WaitAsync(Timeout))?.Position ?? 0;
        while (true)
        {
            var batch = await Store.Replication.ReadChangesAsync(position, 6).WaitAsync(Timeout);
            if (batch.Changes.Count == 0)
            {
                break;
            }

            position = batch.NextCheckpoint(position);
            await replica.Replication.ApplyAsync(new ReplicationWrite(batch.Changes, "src", 1, position)).WaitAsync(Timeout);
        }

        Assert.Equal(position, (await replica.Replication.GetCheckpointAsync("src").WaitAsync(Timeout))!.Position);
        Assert.Equal(
            await Store.Messages.QueryAsync("copied", new MessageQuery(0, null, 100)).WaitAsync(Timeout),
            await replica.Messages.QueryAsync("copied", new MessageQuery(0, null, 100)).WaitAsync(Timeout));
        Assert.Equal(20, await replica.Messages.GetLastSeqAsync("copied").WaitAsync(Timeout));
        Assert.NotNull(await replica.Users.FindByNameAsync("SOURCE").WaitAsync(Timeout));
    }

    // ---------- scan ----------

    [Fact]
    public async Task Scan_orders_users_and_rooms_by_id_and_messages_by_room_then_sequence()
    {
        var users = Enumerable.Range(0, 6).Select(i => NewUser($"scan{i}") with { Id = Guid.NewGuid() }).ToArray();
        foreach (var user in users)
        {
            await Store.Users.TryCreateAsync(user).WaitAsync(Timeout);
        }

        var rooms = Enumerable.Range(0, 4).Select(i => NewRoom($"scan-{i}") with { Id = Guid.NewGuid() }).ToArray();
        foreach (var room in rooms)
        {
            await Store.Rooms.TryCreateAsync(room).WaitAsync(Timeout);
        }

        foreach (var (roomName, text) in new[] { ("b-room", "1"), ("a-room", "1"), ("b-room", "2"), ("a-room", "2"), ("b-room", "3") })
        {
            await Store.Messages.AppendAsync(NewMessage(roomName, text)).WaitAsync(Timeout);
        }

        var scannedUsers = await Collect(DocumentKind.User);
        Assert.Equal(users.Select(u => u.Id).Order(), scannedUsers.Select(c => c.DocumentId));
        Assert.All(scannedUsers, c => Assert.Equal(DocumentKind.User, c.Kind));
        Assert.Equal(users.OrderBy(u => u.Id), scannedUsers.Select(c => c.User!));

        var scannedRooms = await Collect(DocumentKind.Room);
        Assert.Equal(rooms.Select(r => r.Id).Order(), scannedRooms.Select(c => c.DocumentId));

        var scannedMessages = await Collect(DocumentKind.Message);
        Assert.Equal(
            ["a-room/1", "a-room/2", "b-room/1", "b-room/2", "b-room/3"],
            scannedMessages.Select(c => $"{c.Message!.Room}/{c.Message.Seq}"));

        // Positions are those of each document's latest change in the feed.
        var feed = (await Store.Replication.ReadChangesAsync(0, 100).WaitAsync(Timeout)).Changes.ToDictionary(c => c.DocumentId, c => c.Position);
        Assert.All(scannedUsers.Concat(scannedRooms).Concat(scannedMessages), c => Assert.Equal(feed[c.DocumentId], c.Position));

        async Task<List<ChangeRecord>> Collect(DocumentKind kind)
        {
            var list = new List<ChangeRecord>();
            await foreach (var record in Store.Replication.ScanAsync(kind).WithCancellation(TestContext.Current.CancellationToken))
            {
                list.Add(record);
            }

            return list;
        }
    }

    // ---------- ChitChat's services over the store ----------

    [Theory]
    [InlineData("", ChatErrorCodes.ValidationFailed)]
    [InlineData("   \t\r\n ", ChatErrorCodes.ValidationFailed)]
    [InlineData("bell \u0007 ring", ChatErrorCodes.ValidationFailed)]
    [InlineData("nul \0 byte", ChatErrorCodes.ValidationFailed)]
    [InlineData("escape \u001B[31m red", ChatErrorCodes.ValidationFailed)]
    [InlineData("UNPAIRED", ChatErrorCodes.ValidationFailed)]
    [InlineData("OVERSIZE", ChatErrorCodes.PayloadTooLarge)]
    public async Task Invalid_text_sent_through_MessageSender_is_rejected_and_nothing_is_stored(string text, string code)
    {
        // Built here: test data is serialized and an unpaired surrogate would not survive it.
        text = text switch
        {
            "OVERSIZE" => new string('x', 4001),
            "UNPAIRED" => "unpaired \uD83D surrogate",
            _ => text,
        };

        await using var services = BuildChatServices();
        var sender = services.GetRequiredService<MessageSender>();
        await services.GetRequiredService<RoomService>().EnsureDefaultRoomAsync().WaitAsync(Timeout);
        var user = await services.GetRequiredService<AccountService>().RegisterAsync(new RegisterRequest("sender", "correct horse battery")).WaitAsync(Timeout);
        var author = new ChatIdentity(user.Id, user.UserName);
        var head = await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout);

        var ex = await Assert.ThrowsAsync<ChatException>(() => sender.SendAsync(author, new SendMessageRequest(RoomName.Parse("global"), text, "client-1")).WaitAsync(Timeout));
        Assert.Equal(code, ex.Code);

        Assert.Equal(0, await Store.Messages.GetLastSeqAsync("global").WaitAsync(Timeout));
        Assert.Empty(await Store.Messages.QueryAsync("global", new MessageQuery(null, null, 10)).WaitAsync(Timeout));
        Assert.Null(await Store.Messages.FindByClientMessageIdAsync("global", "client-1").WaitAsync(Timeout));
        Assert.Equal(head, await Store.Replication.GetHeadPositionAsync().WaitAsync(Timeout));

        // The same key with valid text is accepted afterwards: the rejected attempt left no trace.
        var sent = await sender.SendAsync(author, new SendMessageRequest(RoomName.Parse("global"), "valid now", "client-1")).WaitAsync(Timeout);
        Assert.True(sent.Created);
        Assert.Equal(1, sent.Message.Seq);
        Assert.Equal(1, await Store.Messages.GetLastSeqAsync("global").WaitAsync(Timeout));
    }

    [Fact]
    public async Task AccountService_registration_is_case_insensitive_through_the_store()
    {
        await using var services = BuildChatServices();
        var accounts = services.GetRequiredService<AccountService>();
        await accounts.RegisterAsync(new RegisterRequest("Carol", "correct horse battery")).WaitAsync(Timeout);
        var ex = await Assert.ThrowsAsync<ChatException>(() => accounts.RegisterAsync(new RegisterRequest("cAROL", "another password")).WaitAsync(Timeout));
        Assert.Equal(ChatErrorCodes.UserExists, ex.Code);
        var verified = await accounts.VerifyCredentialsAsync("CAROL", "correct horse battery").WaitAsync(Timeout);
        Assert.Equal("Carol", verified.UserName);
    }

    /// <summary>Builds ChitChat's services composed as in a host, over <see cref="Store"/>.</summary>
    /// <returns>The service provider (dispose it).</returns>
    protected ServiceProvider BuildChatServices()
    {
        var store = Store;
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddChitChat(o =>
        {
            o.PasswordHashIterations = 1000;
            o.SendRateLimit = 0;
        }).UseStore(_ => new NonOwningStore(store));
        return services.BuildServiceProvider();
    }

    private static DateTimeOffset Now { get; } = new(2026, 11, 25, 3, 0, 0, TimeSpan.Zero);

    private async Task<int> Apply(long token, params ChangeRecord[] changes) =>
        await Store.Replication.ApplyAsync(new ReplicationWrite(changes, "primary", token, changes.Max(c => c.Position))).WaitAsync(Timeout);

    private static (ChatUser User, ChatRoom Room, ChatMessage Message) Documents(string name)
    {
        var user = NewUser(name);
        var room = NewRoom(name);
        var message = new ChatMessage(Guid.CreateVersion7(), name, 7, user.Id, user.UserName, "replicated", Now, $"{name}-key", 1);
        return (user, room, message);
    }

    /// <summary>Creates a user with version 1.</summary>
    /// <param name="userName">The user name.</param>
    /// <returns>The user.</returns>
    protected static ChatUser NewUser(string userName) =>
        new(Guid.CreateVersion7(), userName, null, null, "pbkdf2-sha256$1000$AAAA$BBBB", Now, Now, 1);

    /// <summary>Creates a room with version 1.</summary>
    /// <param name="name">The room name.</param>
    /// <returns>The room.</returns>
    protected static ChatRoom NewRoom(string name) => new(Guid.CreateVersion7(), name, null, Now, 1);

    /// <summary>Creates a message to append.</summary>
    /// <param name="room">The room.</param>
    /// <param name="text">The text.</param>
    /// <param name="clientMessageId">The idempotency key.</param>
    /// <returns>The message.</returns>
    protected static NewMessage NewMessage(string room, string text, string? clientMessageId = null) =>
        new(Guid.CreateVersion7(), room, Guid.CreateVersion7(), "author", text, Now, clientMessageId);

    /// <summary>Hands the test's store to a container without letting the container dispose it (the test does).</summary>
    private sealed class NonOwningStore(IChatStore inner) : IChatStore
    {
        public string ProviderName => inner.ProviderName;

        public IUserStore Users => inner.Users;

        public IRoomStore Rooms => inner.Rooms;

        public IMessageStore Messages => inner.Messages;

        public IMembershipStore Memberships => inner.Memberships;

        public IReadStateStore ReadState => inner.ReadState;

        public IReplicationStore Replication => inner.Replication;

        public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

        public Task PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);
    }
}
