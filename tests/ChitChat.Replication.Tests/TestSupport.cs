using System.Runtime.CompilerServices;
using ChitChat.Replication;
using ChitChat.Sqlite;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.Replication.Tests;

/// <summary>A temp directory with SQLite files, deleted at the end.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "chitchat-repl-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string ConnectionString(string name) => $"Data Source={System.IO.Path.Combine(Path, name + ".db")}";

    public string File(string name) => System.IO.Path.Combine(Path, name + ".db");

    public SqliteChatStore Sqlite(string name, TimeProvider? time = null) =>
        new(new SqliteStoreOptions { ConnectionString = ConnectionString(name), BusyTimeout = TimeSpan.FromMilliseconds(300) }, time, null, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Builds the replication services around given stores, without a host (hosted services not started).</summary>
internal sealed class ReplicationRig : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public ReplicationRig(IChatStore primary, IReadOnlyDictionary<string, IChatStore> replicas, Action<ReplicationOptions>? configure = null, TimeProvider? time = null, Leases.ILeaseProvider? leases = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddFakeLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        if (leases is not null)
        {
            services.AddSingleton(leases);
        }

        services.AddChitChat().AddReplication(o =>
        {
            o.UsePrimary(primary);
            foreach (var (name, store) in replicas)
            {
                o.AddReplica(name, store);
            }

            o.OperationTimeout = TimeSpan.FromSeconds(10);
            o.BreakDuration = TimeSpan.FromSeconds(1);
            configure?.Invoke(o);
        });
        _services = services.BuildServiceProvider();
    }

    public IServiceProvider Services => _services;

    public IChatStore Router => _services.GetRequiredService<IChatStore>();

    public IReplicationManager Manager => _services.GetRequiredService<IReplicationManager>();

    internal ReplicaSet Set => _services.GetRequiredService<ReplicaSet>();

    internal ReplicationManager Internal => _services.GetRequiredService<ReplicationManager>();

    /// <summary>Gets the warnings and errors logged so far.</summary>
    public Microsoft.Extensions.Logging.Testing.FakeLogCollector Logs => _services.GetFakeLogCollector();

    public async Task InitializeAsync() => await Router.InitializeAsync().WaitAsync(TimeSpan.FromSeconds(30));

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

internal static class Data
{
    public static ChatUser User(string name, long version = 1, string? first = null) =>
        new(Guid.CreateVersion7(), name, first, "Last", "PBKDF2$hash$" + name, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), version);

    public static ChatRoom Room(string name) => new(Guid.CreateVersion7(), name, null, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), 1);

    public static NewMessage Message(string room, ChatUser author, string text, string? key = null) =>
        new(Guid.CreateVersion7(), room, author.Id, author.UserName, text, DateTimeOffset.UnixEpoch.AddDays(20000).AddTicks(Random.Shared.Next()), key);

    /// <summary>Every document of a store, by kind, in scan order.</summary>
    public static async Task<List<ChangeRecord>> AllAsync(IChatStore store, DocumentKind kind)
    {
        var list = new List<ChangeRecord>();
        await foreach (var c in store.Replication.ScanAsync(kind).WithCancellation(CancellationToken.None))
        {
            list.Add(c);
        }

        return list;
    }

    /// <summary>Asserts that two stores hold the same documents, field by field.</summary>
    public static async Task AssertSameDocumentsAsync(IChatStore expected, IChatStore actual, string phase)
    {
        var users1 = (await AllAsync(expected, DocumentKind.User)).Select(c => c.User!).OrderBy(u => u.Id).ToList();
        var users2 = (await AllAsync(actual, DocumentKind.User)).Select(c => c.User!).OrderBy(u => u.Id).ToList();
        Assert.True(users1.SequenceEqual(users2), $"{phase}: users differ ({users1.Count} vs {users2.Count}).");
        var rooms1 = (await AllAsync(expected, DocumentKind.Room)).Select(c => c.Room!).OrderBy(r => r.Id).ToList();
        var rooms2 = (await AllAsync(actual, DocumentKind.Room)).Select(c => c.Room!).OrderBy(r => r.Id).ToList();
        Assert.True(rooms1.SequenceEqual(rooms2), $"{phase}: rooms differ ({rooms1.Count} vs {rooms2.Count}).");
        var ms1 = (await AllAsync(expected, DocumentKind.Membership)).Select(c => c.Membership!).OrderBy(m => m.Id).ToList();
        var ms2 = (await AllAsync(actual, DocumentKind.Membership)).Select(c => c.Membership!).OrderBy(m => m.Id).ToList();
        Assert.True(ms1.SequenceEqual(ms2), $"{phase}: memberships differ ({ms1.Count} vs {ms2.Count}).");
        var m1 = (await AllAsync(expected, DocumentKind.Message)).Select(c => c.Message!).OrderBy(m => m.Room, StringComparer.Ordinal).ThenBy(m => m.Seq).ToList();
        var m2 = (await AllAsync(actual, DocumentKind.Message)).Select(c => c.Message!).OrderBy(m => m.Room, StringComparer.Ordinal).ThenBy(m => m.Seq).ToList();
        Assert.Equal(m1.Count, m2.Count);
        for (var i = 0; i < m1.Count; i++)
        {
            Assert.True(m1[i] == m2[i], $"{phase}: message {i} differs: {m1[i]} vs {m2[i]}");
        }
    }

    /// <summary>Polls a condition until it holds; fails naming the phase after the overall timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string phase, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (!await condition().WaitAsync(TimeSpan.FromSeconds(60)))
        {
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting for: {phase}");
            }

            await Task.Yield();
            await Task.Delay(20, CancellationToken.None); // polling interval, not synchronization: the condition decides
        }
    }
}

/// <summary>A store wrapper that can go down (every call throws <see cref="ChatStoreUnavailableException"/>) and intercept replication writes.</summary>
internal sealed class FaultyStore(IChatStore inner) : IChatStore, IUserStore, IRoomStore, IMessageStore, IMembershipStore, IReadStateStore, IReplicationStore
{
    public volatile bool Down;

    public Func<ReplicationWrite, CancellationToken, Task>? BeforeApply { get; set; }

    /// <summary>Gets or sets a gate that holds the durable step of <see cref="IMessageStore.BeginAppend"/> (the inner store has sequenced and stored it already).</summary>
    public Task? HoldDurable { get; set; }

    /// <summary>Gets or sets a hook that runs before every scan (anti-entropy digests).</summary>
    public Action<DocumentKind>? BeforeScan { get; set; }

    public IChatStore Inner => inner;

    public string ProviderName => inner.ProviderName;

    public IUserStore Users => this;

    public IRoomStore Rooms => this;

    public IMessageStore Messages => this;

    public IMembershipStore Memberships => this;

    public IReadStateStore ReadState => this;

    public IReplicationStore Replication => this;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Guard(() => inner.InitializeAsync(cancellationToken));

    public Task PingAsync(CancellationToken cancellationToken = default) => Guard(() => inner.PingAsync(cancellationToken));

    public Task<bool> TryCreateAsync(ChatUser user, CancellationToken cancellationToken = default) => Guard(() => inner.Users.TryCreateAsync(user, cancellationToken));

    public Task<ChatUser?> FindByIdAsync(Guid id, CancellationToken cancellationToken = default) => Guard(() => inner.Users.FindByIdAsync(id, cancellationToken));

    Task<ChatUser?> IUserStore.FindByNameAsync(string userName, CancellationToken cancellationToken) => Guard(() => inner.Users.FindByNameAsync(userName, cancellationToken));

    public Task<bool> TryCreateAsync(ChatRoom room, CancellationToken cancellationToken = default) => Guard(() => inner.Rooms.TryCreateAsync(room, cancellationToken));

    public Task<IReadOnlyList<ChatUser>> SearchByNamePrefixAsync(string prefix, int limit, CancellationToken cancellationToken = default) => Guard(() => inner.Users.SearchByNamePrefixAsync(prefix, limit, cancellationToken));

    public Task<bool> TryCreateWithMembersAsync(ChatRoom room, IReadOnlyList<RoomMembership> members, CancellationToken cancellationToken = default) => Guard(() => inner.Rooms.TryCreateWithMembersAsync(room, members, cancellationToken));

    public Task<bool> TryUpdateAsync(ChatRoom room, CancellationToken cancellationToken = default) => Guard(() => inner.Rooms.TryUpdateAsync(room, cancellationToken));

    public Task<IReadOnlyList<RoomListEntry>> ListForUserAsync(Guid userId, CancellationToken cancellationToken = default) => Guard(() => inner.Rooms.ListForUserAsync(userId, cancellationToken));

    Task<RoomMembership?> IMembershipStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken) => Guard(() => inner.Memberships.FindAsync(room, userId, cancellationToken));

    public Task<IReadOnlyList<RoomMembership>> ListMembersAsync(string room, CancellationToken cancellationToken = default) => Guard(() => inner.Memberships.ListMembersAsync(room, cancellationToken));

    public Task<IReadOnlyList<RoomMembership>> ListBansAsync(string room, DateTimeOffset now, CancellationToken cancellationToken = default) => Guard(() => inner.Memberships.ListBansAsync(room, now, cancellationToken));

    public Task<long> CountMembersAsync(string room, CancellationToken cancellationToken = default) => Guard(() => inner.Memberships.CountMembersAsync(room, cancellationToken));

    public Task<bool> TryApplyAsync(string room, long expectedMembershipVersion, IReadOnlyList<RoomMembership> writes, CancellationToken cancellationToken = default) => Guard(() => inner.Memberships.TryApplyAsync(room, expectedMembershipVersion, writes, cancellationToken));

    Task<ChatRoom?> IRoomStore.FindByNameAsync(string name, CancellationToken cancellationToken) => Guard(() => inner.Rooms.FindByNameAsync(name, cancellationToken));

    public Task<IReadOnlyList<ChatRoom>> ListAsync(CancellationToken cancellationToken = default) => Guard(() => inner.Rooms.ListAsync(cancellationToken));

    public async Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        var result = await inner.Messages.AppendAsync(message, cancellationToken);
        if (HoldDurable is { } gate)
        {
            await gate;
        }

        return result;
    }

    public PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        var started = inner.Messages.BeginAppend(message, cancellationToken);
        return HoldDurable is { } gate ? new PendingAppend(started.Sequenced, HeldAsync(started.Durable, gate)) : started;

        static async Task<AppendResult> HeldAsync(Task<AppendResult> durable, Task gate)
        {
            await gate;
            return await durable;
        }
    }

    public Task<IReadOnlyList<ChatMessage>> QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.QueryAsync(room, query, cancellationToken));

    public Task<long> GetLastSeqAsync(string room, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.GetLastSeqAsync(room, cancellationToken));

    public Task<ChatMessage?> FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.FindByClientMessageIdAsync(room, clientMessageId, cancellationToken));

    Task<ChatMessage?> IMessageStore.FindAsync(string room, Guid id, CancellationToken cancellationToken) => Guard(() => inner.Messages.FindAsync(room, id, cancellationToken));

    public Task<MessageUpdateResult> UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.UpdateAsync(room, id, mutation, at, cancellationToken));

    public Task<IReadOnlyList<MessageEvent>> ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.ReadEventsAsync(room, afterSeq, upToSeq, limit, cancellationToken));

    public Task<IReadOnlyList<ChatMessage>> QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.QueryThreadAsync(room, rootId, afterSeq, limit, cancellationToken));

    public Task<IReadOnlyList<ChatMessage>> SearchAsync(MessageSearch search, CancellationToken cancellationToken = default) => Guard(() => inner.Messages.SearchAsync(search, cancellationToken));

    public Task<(ReadMarker Marker, bool Moved)> MarkReadAsync(string room, Guid userId, long seq, DateTimeOffset at, CancellationToken cancellationToken = default) => Guard(() => inner.ReadState.MarkReadAsync(room, userId, seq, at, cancellationToken));

    Task<ReadMarker?> IReadStateStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken) => Guard(() => inner.ReadState.FindAsync(room, userId, cancellationToken));

    public Task<ChangeBatch> ReadChangesAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default) => Guard(() => inner.Replication.ReadChangesAsync(afterPosition, maxCount, cancellationToken));

    public Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default) => Guard(() => inner.Replication.GetHeadPositionAsync(cancellationToken));

    public Task<ReplicaCheckpoint?> GetCheckpointAsync(string sourceId, CancellationToken cancellationToken = default) => Guard(() => inner.Replication.GetCheckpointAsync(sourceId, cancellationToken));

    public async Task<int> ApplyAsync(ReplicationWrite write, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        if (BeforeApply is { } hook)
        {
            await hook(write, cancellationToken);
        }

        return await inner.Replication.ApplyAsync(write, cancellationToken);
    }

    public async IAsyncEnumerable<ChangeRecord> ScanAsync(DocumentKind kind, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        BeforeScan?.Invoke(kind);
        await foreach (var c in inner.Replication.ScanAsync(kind, cancellationToken))
        {
            yield return c;
        }
    }

    private void ThrowIfDown()
    {
        if (Down)
        {
            throw new ChatStoreUnavailableException("test: store is down");
        }
    }

    private Task<T> Guard<T>(Func<Task<T>> call)
    {
        ThrowIfDown();
        return call();
    }

    private Task Guard(Func<Task> call)
    {
        ThrowIfDown();
        return call();
    }
}
