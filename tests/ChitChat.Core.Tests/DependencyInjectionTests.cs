using ChitChat.InMemory;
using ChitChat.Leases;
using ChitChat.Presence;
using ChitChat.Security;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class DependencyInjectionTests
{
    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        configure(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Theory]
    [InlineData(typeof(AccountService))]
    [InlineData(typeof(RoomService))]
    [InlineData(typeof(MessageSender))]
    [InlineData(typeof(HistoryService))]
    [InlineData(typeof(PresenceService))]
    [InlineData(typeof(IChatStore))]
    [InlineData(typeof(IChatTransport))]
    [InlineData(typeof(IPresenceTracker))]
    [InlineData(typeof(ILeaseProvider))]
    [InlineData(typeof(IPasswordHasher))]
    [InlineData(typeof(TimeProvider))]
    public void AddChitChat_registers_each_service_once_as_a_singleton(Type serviceType)
    {
        var services = new ServiceCollection();

        services.AddChitChat();

        var descriptor = Assert.Single(services, d => d.ServiceType == serviceType);
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
    }

    [Fact]
    public async Task AddChitChat_defaults_are_the_single_node_implementations()
    {
        using var sp = Build(s => s.AddChitChat());

        Assert.IsType<InMemoryChatStore>(sp.GetRequiredService<IChatStore>());
        Assert.IsType<InProcessTransport>(sp.GetRequiredService<IChatTransport>());
        Assert.IsType<InMemoryPresenceTracker>(sp.GetRequiredService<IPresenceTracker>());
        Assert.IsType<InMemoryLeaseProvider>(sp.GetRequiredService<ILeaseProvider>());
        Assert.IsType<Pbkdf2PasswordHasher>(sp.GetRequiredService<IPasswordHasher>());
        Assert.Same(TimeProvider.System, sp.GetRequiredService<TimeProvider>());
        Assert.Same(sp.GetRequiredService<AccountService>(), sp.GetRequiredService<AccountService>());
        Assert.Same(sp.GetRequiredService<RoomService>(), sp.GetRequiredService<RoomService>());
        Assert.Same(sp.GetRequiredService<MessageSender>(), sp.GetRequiredService<MessageSender>());
        Assert.Same(sp.GetRequiredService<HistoryService>(), sp.GetRequiredService<HistoryService>());
        Assert.Same(sp.GetRequiredService<PresenceService>(), sp.GetRequiredService<PresenceService>());

        // The services write to the registered store.
        var room = await sp.GetRequiredService<RoomService>().EnsureDefaultRoomAsync().Timed();
        Assert.Equal(room, await sp.GetRequiredService<IChatStore>().Rooms.FindByNameAsync("global").Timed());
    }

    [Fact]
    public void AddChitChat_keeps_a_time_provider_registered_before_it()
    {
        var fake = new FakeTimeProvider();

        using var sp = Build(s => s.AddSingleton<TimeProvider>(fake).AddChitChat());

        Assert.Same(fake, sp.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public void AddChitChat_twice_is_harmless_and_applies_both_delegates()
    {
        var services = new ServiceCollection().AddLogging();

        services.AddChitChat(o => o.MaxMessageLength = 123);
        services.AddChitChat(o => o.SendRateLimit = 7);

        Assert.Single(services, d => d.ServiceType == typeof(AccountService));
        Assert.Single(services, d => d.ServiceType == typeof(RoomService));
        Assert.Single(services, d => d.ServiceType == typeof(MessageSender));
        Assert.Single(services, d => d.ServiceType == typeof(HistoryService));
        Assert.Single(services, d => d.ServiceType == typeof(PresenceService));
        Assert.Single(services, d => d.ServiceType == typeof(IChatStore));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "ChitChatInitializer");
        using var sp = services.BuildServiceProvider();
        var options = sp.GetRequiredService<IOptions<ChitChatOptions>>().Value;
        Assert.Equal(123, options.MaxMessageLength);
        Assert.Equal(7, options.SendRateLimit);
        Assert.Single(sp.GetServices<IHostedService>(), s => s.GetType().Name == "ChitChatInitializer");
    }

    [Fact]
    public async Task UseStore_replaces_the_default_store()
    {
        var mine = new InMemoryChatStore();

        using var sp = Build(s => s.AddChitChat().UseStore(_ => mine));

        Assert.Same(mine, sp.GetRequiredService<IChatStore>());
        var room = await sp.GetRequiredService<RoomService>().EnsureDefaultRoomAsync().Timed();
        Assert.Equal(room, await mine.Rooms.FindByNameAsync("global").Timed());
    }

    [Fact]
    public void UseInMemoryStore_replaces_a_store_chosen_before()
    {
        var mine = new InMemoryChatStore();
        var services = new ServiceCollection().AddLogging();

        services.AddChitChat().UseStore(_ => mine).UseInMemoryStore();

        Assert.Single(services, d => d.ServiceType == typeof(IChatStore));
        using var sp = services.BuildServiceProvider();
        var store = sp.GetRequiredService<IChatStore>();
        Assert.IsType<InMemoryChatStore>(store);
        Assert.NotSame(mine, store);
    }

    [Fact]
    public void UseInProcessTransport_replaces_a_transport_chosen_before()
    {
        var services = new ServiceCollection().AddLogging();
        var builder = services.AddChitChat();
        services.AddSingleton<IChatTransport, RecordingTransport>();

        builder.UseInProcessTransport();

        Assert.Single(services, d => d.ServiceType == typeof(IChatTransport));
        using var sp = services.BuildServiceProvider();
        Assert.IsType<InProcessTransport>(sp.GetRequiredService<IChatTransport>());
    }

    [Fact]
    public void UseStore_with_settings_picks_the_in_memory_factory()
    {
        using var sp = Build(s => s.AddChitChat().UseStore(new ChatStoreSettings { Store = "InMemory" }));

        Assert.IsType<InMemoryChatStore>(sp.GetRequiredService<IChatStore>());
    }

    [Fact]
    public void Null_arguments_are_rejected_by_parameter_name()
    {
        var builder = new ServiceCollection().AddChitChat();

        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddChitChat()).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => ((IChitChatBuilder)null!).UseInMemoryStore()).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => ((IChitChatBuilder)null!).UseInProcessTransport()).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => ((IChitChatBuilder)null!).UseStore(_ => new InMemoryChatStore())).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => ((IChitChatBuilder)null!).UseStore(new ChatStoreSettings())).ParamName);
        Assert.Equal("factory", Assert.Throws<ArgumentNullException>(() => builder.UseStore((Func<IServiceProvider, IChatStore>)null!)).ParamName);
        Assert.Equal("settings", Assert.Throws<ArgumentNullException>(() => builder.UseStore((ChatStoreSettings)null!)).ParamName);
    }

    [Fact]
    public async Task AddChitChat_works_without_an_IConfiguration()
    {
        var services = new ServiceCollection().AddLogging();

        services.AddChitChat(o => o.MaxMessageLength = 77);

        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IConfiguration));
        using var sp = services.BuildServiceProvider();
        Assert.Equal(77, sp.GetRequiredService<IOptions<ChitChatOptions>>().Value.MaxMessageLength);
        Assert.Equal(77, sp.GetRequiredService<IOptionsMonitor<ChitChatOptions>>().CurrentValue.MaxMessageLength);
        await AssertMaxMessageLengthAsync(sp, 77);
    }

    [Fact]
    public void The_options_monitor_follows_configuration_reloads()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ChitChat:MaxMessageLength"] = "100" })
            .Build();
        using var sp = Build(s => s.AddSingleton<IConfiguration>(configuration).AddChitChat());
        var monitor = sp.GetRequiredService<IOptionsMonitor<ChitChatOptions>>();
        Assert.Equal(100, monitor.CurrentValue.MaxMessageLength);

        configuration["ChitChat:MaxMessageLength"] = "200";
        configuration.Reload();

        Assert.Equal(200, monitor.CurrentValue.MaxMessageLength);
    }

    [Fact]
    public async Task Options_bind_from_the_ChitChat_section_and_the_delegate_wins()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ChitChat:MaxMessageLength"] = "123",
                ["ChitChat:DefaultRoom"] = "lobby",
                ["ChitChat:SendRateLimit"] = "5",
                ["ChitChat:SendRateWindow"] = "00:00:30",
                ["ChitChat:MaxHistoryPageSize"] = "99",
                ["Other:MaxMessageLength"] = "1",
            })
            .Build();

        using var sp = Build(s => s.AddSingleton<IConfiguration>(configuration).AddChitChat(o => o.SendRateLimit = 6));
        var options = sp.GetRequiredService<IOptions<ChitChatOptions>>().Value;

        Assert.Equal(123, options.MaxMessageLength);
        Assert.Equal("lobby", options.DefaultRoom);
        Assert.Equal(TimeSpan.FromSeconds(30), options.SendRateWindow);
        Assert.Equal(99, options.MaxHistoryPageSize);
        Assert.Equal(6, options.SendRateLimit);
        await AssertMaxMessageLengthAsync(sp, 123);
    }

    /// <summary>Asserts that the message sender enforces <paramref name="max"/> as the maximum message length (the text is
    /// checked before the room, so no room is needed).</summary>
    private static async Task AssertMaxMessageLengthAsync(IServiceProvider sp, int max)
    {
        var sender = sp.GetRequiredService<MessageSender>();
        var author = new ChatIdentity(Guid.NewGuid(), "alice");
        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.PayloadTooLarge, () => sender.SendAsync(author, new SendMessageRequest(RoomName.Parse("global"), new string('x', max + 1))));
        Assert.Contains($"at most {max} characters", ex.Message, StringComparison.Ordinal);
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => sender.SendAsync(author, new SendMessageRequest(RoomName.Parse("global"), new string('x', max))));
    }
}
