using System.Net;
using System.Net.Sockets;
using System.Reflection;
using ChitChat.MongoDB;
using ChitChat.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using ChitChat.Contracts;

namespace ChitChat.MongoDB.Tests;

/// <summary>DI registration, client ownership and error mapping. A MongoClient connects lazily, so none of this needs a server.</summary>
public sealed class DependencyInjectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static ServiceCollection NewServices(params (string Key, string? Value)[] settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());
        return services;
    }

    [Fact]
    public async Task UseMongoDB_replaces_the_in_memory_store_and_disposes_the_client_it_created()
    {
        var services = NewServices();
        services.AddChitChat().UseMongoDB("mongodb://127.0.0.1:27017", "chat_di");
        MongoChatStore mongo;
        await using (var provider = services.BuildServiceProvider(validateScopes: true))
        {
            var store = provider.GetRequiredService<IChatStore>();

            mongo = Assert.IsType<MongoChatStore>(store);
            Assert.Same(mongo, provider.GetRequiredService<MongoChatStore>());
            Assert.Equal("mongodb", store.ProviderName);
            Assert.True(mongo.OwnsClient);
            Assert.Equal("chat_di", mongo.Database.DatabaseNamespace.DatabaseName);
            Assert.Single(services, d => d.ServiceType == typeof(IChatStore));
        }

        var ct = TestContext.Current.CancellationToken;
        await Assert.ThrowsAsync<ObjectDisposedException>(() => mongo.PingAsync(ct).WaitAsync(Timeout, ct));
    }

    [Fact]
    public void UseMongoDB_binds_the_ChitChat_MongoDB_section()
    {
        var services = NewServices(
            ("ChitChat:MongoDB:ConnectionString", "mongodb://127.0.0.1:27017"),
            ("ChitChat:MongoDB:Database", "from_config"),
            ("ChitChat:MongoDB:CollectionPrefix", "cc_"),
            ("ChitChat:MongoDB:WriteConcern", "1"),
            ("ChitChat:MongoDB:ReadPreference", "SecondaryPreferred"));
        services.AddChitChat().UseMongoDB();
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<MongoChatStore>(provider.GetRequiredService<IChatStore>());

        Assert.Equal("from_config", store.Database.DatabaseNamespace.DatabaseName);
        Assert.Equal("cc_", store.Options.CollectionPrefix);
        Assert.Equal(new WriteConcern.WCount(1), store.Database.Settings.WriteConcern.W);
        Assert.Equal(ReadPreferenceMode.SecondaryPreferred, store.Database.Settings.ReadPreference.ReadPreferenceMode);
    }

    [Fact]
    public async Task A_client_from_services_is_used_and_never_disposed()
    {
        using var real = new MongoClient("mongodb://127.0.0.1:27017");
        var tracking = TrackingClient.Wrap(real);
        var services = NewServices();
        services.AddSingleton(tracking);
        services.AddChitChat().UseMongoDB(o =>
        {
            o.UseClientFromServices = true;
            o.ConnectionString = "mongodb://ignored:27017";
            o.Database = "chat_shared";
        });

        await using (var provider = services.BuildServiceProvider())
        {
            _ = provider.GetRequiredService<IOptions<MongoChatStoreOptions>>().Value; // validation passes
            var store = Assert.IsType<MongoChatStore>(provider.GetRequiredService<IChatStore>());

            Assert.False(store.OwnsClient);
            Assert.Contains(nameof(IMongoClient.GetDatabase), ((TrackingClient)(object)tracking).Calls);
            Assert.Same(real, store.Database.Client); // the proxy forwarded GetDatabase to the registered client
            Assert.Equal("chat_shared", store.Database.DatabaseNamespace.DatabaseName);
        }

        Assert.Equal(0, ((TrackingClient)(object)tracking).DisposeCalls);
    }

    [Fact]
    public void A_registered_client_is_detected_when_no_connection_string_is_configured()
    {
        using var real = new MongoClient("mongodb://127.0.0.1:27017");
        var services = NewServices();
        services.AddSingleton<IMongoClient>(real);
        services.AddChitChat().UseMongoDB();
        using var provider = services.BuildServiceProvider();

        _ = provider.GetRequiredService<IOptions<MongoChatStoreOptions>>().Value; // no "ConnectionString is required" failure
        var store = Assert.IsType<MongoChatStore>(provider.GetRequiredService<IChatStore>());

        Assert.Same(real, store.Database.Client);
        Assert.False(store.OwnsClient);
    }

    [Fact]
    public void The_store_factory_is_registered_once_and_builds_stores_from_settings()
    {
        var services = NewServices(("ChitChat:MongoDB:CollectionPrefix", "replica_"));
        services.AddChitChat().AddMongoDBStoreProvider().AddMongoDBStoreProvider();
        using var provider = services.BuildServiceProvider();

        var factory = Assert.Single(provider.GetServices<IChatStoreFactory>(), f => f.ProviderName == "MongoDB");
        Assert.IsType<ChitChat.InMemory.InMemoryChatStore>(provider.GetRequiredService<IChatStore>()); // the provider alone does not switch the store
        var store = ChatStoreFactories.Create(provider, "replica-a", new ChatStoreSettings { Store = "mongodb", ConnectionString = "mongodb://127.0.0.1:27017", Database = "replica_a" });

        var mongo = Assert.IsType<MongoChatStore>(store);
        using (mongo)
        {
            Assert.Same(factory, provider.GetServices<IChatStoreFactory>().Single(f => f.ProviderName == "MongoDB"));
            Assert.Equal("replica_a", mongo.Database.DatabaseNamespace.DatabaseName);
            Assert.Equal("replica_", mongo.Options.CollectionPrefix);
            Assert.True(mongo.OwnsClient);
        }
    }

    [Fact]
    public void The_store_factory_rejects_bad_settings_naming_the_store_but_not_the_secret()
    {
        var services = NewServices();
        services.AddChitChat().AddMongoDBStoreProvider();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => ChatStoreFactories.Create(
            provider, "replica-b", new ChatStoreSettings { Store = "MongoDB", ConnectionString = "mongodb://bob:hunter2@", Database = "x" }));

        Assert.Contains("replica-b", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_reported_as_ChatStoreUnavailableException()
    {
        var port = FreeLoopbackPort();
        using var store = MongoChatStore.Create(new MongoChatStoreOptions
        {
            ConnectionString = $"mongodb://alice:s3cret@127.0.0.1:{port}/?serverSelectionTimeoutMS=500&connectTimeoutMS=500",
            Database = "unreachable",
        });
        IChatStore chat = store;
        var ct = TestContext.Current.CancellationToken;

        var ping = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => chat.PingAsync(ct).WaitAsync(Timeout, ct));
        var append = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() =>
            chat.Messages.AppendAsync(new NewMessage(Guid.CreateVersion7(), "global", Guid.NewGuid(), "alice", "hi", DateTimeOffset.UtcNow, "k"), ct).WaitAsync(Timeout, ct));
        var changes = await Assert.ThrowsAsync<ChatStoreUnavailableException>(() => chat.Replication.ReadChangesAsync(0, 10, ct).WaitAsync(Timeout, ct));

        Assert.Equal(ChatErrorCodes.Unavailable, ping.Code);
        Assert.NotNull(ping.RetryAfter);
        Assert.IsType<TimeoutException>(ping.InnerException);
        Assert.IsType<TimeoutException>(append.InnerException);
        Assert.IsType<TimeoutException>(changes.InnerException);
        Assert.DoesNotContain("s3cret", ping.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_classification_distinguishes_duplicate_keys_from_unavailability()
    {
        var connection = new global::MongoDB.Driver.Core.Connections.ConnectionId(
            new global::MongoDB.Driver.Core.Servers.ServerId(new global::MongoDB.Driver.Core.Clusters.ClusterId(1), new DnsEndPoint("127.0.0.1", 27017)));
        var duplicate = new MongoCommandException(
            connection,
            "E11000 duplicate key error collection: chat.chitchat_messages index: ux_room_seq dup key: { room: \"global\", seq: 3 }",
            new global::MongoDB.Bson.BsonDocument("findAndModify", "x"),
            new global::MongoDB.Bson.BsonDocument { { "ok", 0 }, { "code", 11000 } });

        Assert.True(MongoChatStore.IsDuplicateKey(duplicate));
        Assert.False(MongoChatStore.IsUnavailable(duplicate));
        Assert.Equal("ux_room_seq", MongoChatStore.DuplicateIndexName(duplicate));
        Assert.True(MongoChatStore.IsUnavailable(new TimeoutException("server selection")));
        Assert.True(MongoChatStore.IsUnavailable(new MongoConnectionException(connection, "refused")));
        Assert.False(MongoChatStore.IsDuplicateKey(new TimeoutException()));
        Assert.Null(MongoChatStore.DuplicateIndexName(new InvalidOperationException("other")));
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An <see cref="IMongoClient"/> that forwards to a real client and counts <c>Dispose</c> calls instead of forwarding them.</summary>
public class TrackingClient : DispatchProxy
{
    private IMongoClient? _inner;

    /// <summary>Gets the names of the methods called, in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>Gets how many times Dispose was called.</summary>
    public int DisposeCalls { get; private set; }

    /// <summary>Wraps a client.</summary>
    public static IMongoClient Wrap(IMongoClient inner)
    {
        var proxy = Create<IMongoClient, TrackingClient>();
        ((TrackingClient)(object)proxy)._inner = inner;
        return proxy;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        Calls.Add(targetMethod.Name);
        if (targetMethod.Name == nameof(IDisposable.Dispose))
        {
            DisposeCalls++;
            return null;
        }

        return targetMethod.Invoke(_inner, args);
    }
}
