using ChitChat.InMemory;
using ChitChat.Leases;
using ChitChat.MongoDB;
using ChitChat.Presence;
using ChitChat.Providers;
using ChitChat.Redis;
using ChitChat.Sqlite;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Hosting.Tests;

/// <summary>
/// <c>builder.AddChitChat()</c> binds <c>ChitChat:Store</c>, <c>ChitChat:Transport</c> and <c>ChitChat:Replication</c> to the
/// referenced provider packages (this project references all of them, as the samples do).
/// </summary>
public sealed class ProviderSelectionTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A host builder with only <paramref name="settings"/> as configuration (plus a SQLite file in a temp dir unless overridden).</summary>
    private HostApplicationBuilder NewBuilder(Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            EnvironmentName = "Testing",
            ContentRootPath = _dir.Path,
        });
        var all = new Dictionary<string, string?>
        {
            ["ChitChat:Sqlite:ConnectionString"] = _dir.ConnectionString("chitchat"),
            ["ChitChat:PasswordHashIterations"] = "1000",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(all);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder;
    }

    private static ServiceProvider Provider(HostApplicationBuilder builder) => builder.Services.BuildServiceProvider();

    [Fact]
    public async Task Without_configuration_the_store_is_sqlite_in_data_chitchat_db_and_the_transport_in_process()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = _dir.Path });
        builder.AddChitChat();
        await using var services = Provider(builder);

        Assert.IsType<SqliteChatStore>(services.GetRequiredService<IChatStore>());
        Assert.Equal("Data Source=data/chitchat.db", services.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.ConnectionString);
        Assert.IsType<InProcessTransport>(services.GetRequiredService<IChatTransport>());
        Assert.IsType<InMemoryPresenceTracker>(services.GetRequiredService<IPresenceTracker>());
        Assert.IsType<InMemoryLeaseProvider>(services.GetRequiredService<ILeaseProvider>());
    }

    [Theory]
    [InlineData("Sqlite", typeof(SqliteChatStore))]
    [InlineData("sqlite", typeof(SqliteChatStore))]
    [InlineData("InMemory", typeof(InMemoryChatStore))]
    [InlineData("MongoDB", typeof(MongoChatStore))]
    public async Task ChitChat_Store_selects_the_store(string value, Type expected)
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Store"] = value,
            ["ChitChat:MongoDB:ConnectionString"] = "mongodb://127.0.0.1:1",
            ["ChitChat:MongoDB:Database"] = "chitchat",
        });
        builder.AddChitChat();
        await using var services = Provider(builder);

        Assert.IsType(expected, services.GetRequiredService<IChatStore>());
        Assert.IsType<InProcessTransport>(services.GetRequiredService<IChatTransport>());
    }

    [Fact]
    public async Task The_configured_sqlite_store_is_initialized_at_start_up()
    {
        var builder = NewBuilder(new() { ["ChitChat:Store"] = "Sqlite" });
        builder.AddChitChat();
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);

        Assert.Equal("sqlite", host.Services.GetRequiredService<IChatStore>().ProviderName);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "chitchat.db")));
        await host.StopAsync().WaitAsync(Timeout);
    }

    [Theory]
    [InlineData("Redis", null)]
    [InlineData(null, "127.0.0.1:1")]
    public async Task Redis_selects_the_redis_transport_presence_and_leases(string? transport, string? redisOnly)
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Transport"] = transport,
            ["ChitChat:Redis:Configuration"] = redisOnly ?? "127.0.0.1:1",
        });
        builder.AddChitChat();
        await using var services = Provider(builder);

        Assert.IsType<RedisTransport>(services.GetRequiredService<IChatTransport>());
        Assert.IsType<RedisPresenceTracker>(services.GetRequiredService<IPresenceTracker>());
        Assert.IsType<RedisLeaseProvider>(services.GetRequiredService<ILeaseProvider>());
    }

    [Fact]
    public async Task ChitChat_Transport_InProcess_wins_over_a_configured_redis_connection()
    {
        var builder = NewBuilder(new() { ["ChitChat:Transport"] = "InProcess", ["ChitChat:Redis:Configuration"] = "127.0.0.1:1" });
        builder.AddChitChat();
        await using var services = Provider(builder);

        Assert.IsType<InProcessTransport>(services.GetRequiredService<IChatTransport>());
        Assert.IsType<InMemoryLeaseProvider>(services.GetRequiredService<ILeaseProvider>());
    }

    [Fact]
    public async Task Replication_enabled_routes_over_stores_built_by_the_providers_their_Store_keys_name()
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Replication:Enabled"] = "true",
            ["ChitChat:Replication:RunSync"] = "false",
            ["ChitChat:Replication:Primary:Store"] = "Sqlite",
            ["ChitChat:Replication:Primary:ConnectionString"] = _dir.ConnectionString("primary"),
            ["ChitChat:Replication:Replicas:r1:Store"] = "Sqlite",
            ["ChitChat:Replication:Replicas:r1:ConnectionString"] = _dir.ConnectionString("r1"),
            ["ChitChat:Replication:Replicas:r2:Store"] = "MongoDB",
            ["ChitChat:Replication:Replicas:r2:ConnectionString"] = "mongodb://127.0.0.1:1",
            ["ChitChat:Replication:Replicas:r2:Database"] = "chitchat",
        });
        builder.AddChitChat();
        await using var services = Provider(builder);

        var factories = services.GetServices<IChatStoreFactory>().Select(f => f.ProviderName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["InMemory", "MongoDB", "Sqlite"], factories);
        Assert.Equal("ReplicatedChatStore", services.GetRequiredService<IChatStore>().GetType().Name);
    }

    [Fact]
    public async Task A_replicated_sqlite_host_starts_and_initializes_the_primary()
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Replication:Enabled"] = "true",
            ["ChitChat:Replication:RunSync"] = "false",
            ["ChitChat:Replication:Primary:ConnectionString"] = _dir.ConnectionString("primary"),
            ["ChitChat:Replication:Replicas:r1:Store"] = "InMemory",
        });
        builder.AddChitChat();
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);

        Assert.Equal("replicated-sqlite", host.Services.GetRequiredService<IChatStore>().ProviderName);
        await host.StopAsync().WaitAsync(Timeout);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "primary.db")));
    }

    [Theory]
    [InlineData("ChitChat:Store", "Postgres", "ChitChat:Store is 'Postgres', which is not a ChitChat store. Valid values: Sqlite (default), InMemory, MongoDB.")]
    [InlineData("ChitChat:Transport", "RabbitMQ", "ChitChat:Transport is 'RabbitMQ', which is not a ChitChat transport. Valid values: InProcess (default), Redis.")]
    public async Task An_unknown_value_stops_the_host_at_start_up_listing_the_valid_ones(string key, string value, string message)
    {
        var builder = NewBuilder(new() { [key] = value });
        builder.AddChitChat();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task A_store_whose_package_is_not_referenced_stops_the_host_naming_the_package()
    {
        var builder = NewBuilder(new() { ["ChitChat:Store"] = "ghost" });
        builder.AddChitChat(ChitChatProviderCatalog.Default.With(new(ChitChatProviderKind.Store, "Ghost", "ChitChat.Ghost")));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Equal("ChitChat:Store is 'ghost' but the ChitChat.Ghost package is not referenced: dotnet add package ChitChat.Ghost", error.Message);
    }

    [Fact]
    public async Task A_transport_whose_package_is_not_referenced_fails_naming_the_package()
    {
        var builder = NewBuilder(new() { ["ChitChat:Transport"] = "Carrier" });
        builder.AddChitChat(ChitChatProviderCatalog.Default.With(new(ChitChatProviderKind.Transport, "Carrier", "ChitChat.Carrier")));
        await using var services = Provider(builder);

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IChatTransport>());
        Assert.Equal("ChitChat:Transport is 'Carrier' but the ChitChat.Carrier package is not referenced: dotnet add package ChitChat.Carrier", error.Message);
    }

    [Fact]
    public async Task Replication_without_its_package_fails_naming_the_package()
    {
        var catalog = new ChitChatProviderCatalog(
        [
            .. ChitChatProviderCatalog.Default.Entries.Where(e => e.Kind != ChitChatProviderKind.Replication),
            new(ChitChatProviderKind.Replication, "Replication", "ChitChat.Ghost.Replication"),
        ]);
        var builder = NewBuilder(new() { ["ChitChat:Replication:Enabled"] = "true" });
        builder.AddChitChat(catalog);
        await using var services = Provider(builder);

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IChatStore>());
        Assert.Equal("ChitChat:Replication:Enabled is 'true' but the ChitChat.Ghost.Replication package is not referenced: dotnet add package ChitChat.Ghost.Replication", error.Message);
    }

    [Theory]
    [InlineData("Ghost", "ChitChat:Replication:Replicas:r1:Store is 'Ghost' but the ChitChat.Ghost package is not referenced: dotnet add package ChitChat.Ghost")]
    [InlineData("Cassandra", "ChitChat:Replication:Replicas:r1:Store is 'Cassandra', which is not a ChitChat store. Valid values: Sqlite (default), InMemory, MongoDB, Ghost.")]
    public async Task A_replica_store_that_cannot_be_built_stops_the_host_with_the_reason(string store, string message)
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Replication:Enabled"] = "true",
            ["ChitChat:Replication:RunSync"] = "false",
            ["ChitChat:Replication:Primary:ConnectionString"] = _dir.ConnectionString("primary"),
            ["ChitChat:Replication:Replicas:r1:Store"] = store,
        });
        builder.AddChitChat(ChitChatProviderCatalog.Default.With(new(ChitChatProviderKind.Store, "Ghost", "ChitChat.Ghost")));
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Contains(message, Messages(error));
    }

    [Fact]
    public async Task Explicit_use_calls_win_over_configuration()
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Store"] = "MongoDB", // no MongoDB options: validating them would stop the host
            ["ChitChat:Transport"] = "Redis",
            ["ChitChat:Redis:Configuration"] = "127.0.0.1:1",
        });
        builder.AddChitChat().UseInMemoryStore().UseInProcessTransport();
        await using var services = Provider(builder);

        Assert.IsType<InMemoryChatStore>(services.GetRequiredService<IChatStore>());
        Assert.IsType<InProcessTransport>(services.GetRequiredService<IChatTransport>());
    }

    [Fact]
    public async Task An_explicit_store_starts_the_host_although_the_configured_one_is_missing_or_invalid()
    {
        var builder = NewBuilder(new() { ["ChitChat:Store"] = "ghost" });
        builder.AddChitChat(ChitChatProviderCatalog.Default.With(new(ChitChatProviderKind.Store, "Ghost", "ChitChat.Ghost"))).UseInMemoryStore();
        using (var host = builder.Build())
        {
            await host.StartAsync().WaitAsync(Timeout);
            Assert.IsType<InMemoryChatStore>(host.Services.GetRequiredService<IChatStore>());
            await host.StopAsync().WaitAsync(Timeout);
        }

        builder = NewBuilder(new() { ["ChitChat:Store"] = "MongoDB" });
        builder.AddChitChat().UseSqlite(_dir.ConnectionString("explicit"));
        using (var host = builder.Build())
        {
            await host.StartAsync().WaitAsync(Timeout);
            Assert.IsType<SqliteChatStore>(host.Services.GetRequiredService<IChatStore>());
            await host.StopAsync().WaitAsync(Timeout);
        }

        Assert.True(File.Exists(Path.Combine(_dir.Path, "explicit.db")));
    }

    [Fact]
    public async Task An_explicit_connection_string_wins_over_the_configured_one()
    {
        var builder = NewBuilder();
        builder.AddChitChat().UseSqlite(_dir.ConnectionString("explicit"));
        await using var services = Provider(builder);

        Assert.Equal(_dir.ConnectionString("explicit"), services.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.ConnectionString);
    }

    [Fact]
    public async Task Calling_AddChitChat_again_applies_the_configuration_once_and_keeps_the_router()
    {
        var builder = NewBuilder(new()
        {
            ["ChitChat:Replication:Enabled"] = "true",
            ["ChitChat:Replication:Primary:ConnectionString"] = _dir.ConnectionString("primary"),
            ["ChitChat:Replication:Replicas:r1:Store"] = "InMemory",
        });
        builder.AddChitChat();
        builder.AddChitChat(o => o.MaxMessageLength = 10);
        await using var services = Provider(builder);

        Assert.Equal("ReplicatedChatStore", services.GetRequiredService<IChatStore>().GetType().Name);
        Assert.Equal(10, services.GetRequiredService<IOptions<ChitChatOptions>>().Value.MaxMessageLength);
    }

    [Fact]
    public void Every_provider_of_the_catalog_is_declared_by_its_package()
    {
        foreach (var entry in ChitChatProviderCatalog.Default.Entries)
        {
            var resolution = ChitChatProviderCatalog.Default.Resolve(entry.Kind, entry.Name, "key");
            Assert.True(resolution.Registration is not null, resolution.Error);
            Assert.Equal(entry.Name, resolution.Registration.Name);
            if (entry.Kind == ChitChatProviderKind.Store)
            {
                Assert.IsAssignableFrom<IChitChatStoreProviderRegistration>(resolution.Registration);
            }
        }
    }

    [Fact]
    public void Arguments_are_checked() =>
        Assert.Throws<ArgumentNullException>("builder", () => ChitChatHostApplicationBuilderExtensions.AddChitChat(null!));

    private static string Messages(Exception error)
    {
        var all = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            all.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                all.AddRange(aggregate.InnerExceptions.Select(Messages));
            }
        }

        return string.Join(" | ", all);
    }
}
