using ChitChat.Leases;
using ChitChat.Presence;
using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChitChat.Redis.Tests;

public sealed class RedisRegistrationTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task UseRedisTransport_replaces_transport_presence_and_leases_without_connecting()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddChitChat().UseRedisTransport("127.0.0.1:1");
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<RedisTransport>(provider.GetRequiredService<IChatTransport>());
        Assert.Same(provider.GetRequiredService<RedisTransport>(), provider.GetRequiredService<IChatTransport>());
        Assert.IsType<RedisPresenceTracker>(provider.GetRequiredService<IPresenceTracker>());
        Assert.IsType<RedisLeaseProvider>(provider.GetRequiredService<ILeaseProvider>());
        Assert.Contains(provider.GetServices<IHostedService>(), s => s is RedisPresenceHeartbeatService);
        Assert.Contains("redis", provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name));

        var connection = provider.GetRequiredService<RedisConnectionProvider>();
        Assert.True(connection.OwnsMultiplexer);
        Assert.Null(connection.Current);
    }

    [Fact]
    public async Task UseRedisPresence_and_UseRedisLeases_can_be_used_alone()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddChitChat().UseRedisPresence(o => o.Configuration = "127.0.0.1:1").UseRedisLeases();
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<InProcessTransport>(provider.GetRequiredService<IChatTransport>());
        Assert.IsType<RedisPresenceTracker>(provider.GetRequiredService<IPresenceTracker>());
        Assert.IsType<RedisLeaseProvider>(provider.GetRequiredService<ILeaseProvider>());
    }

    [Fact]
    public async Task An_IConnectionMultiplexer_in_DI_is_used_and_not_disposed()
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString).WaitAsync(Timeout);
        await using var nodes = new RedisTestNodes(redis.ConnectionString);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IConnectionMultiplexer>(multiplexer);
        builder.Services.AddChitChat().UseRedisTransport(o => o.KeyPrefix = nodes.KeyPrefix);
        var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);

        var connection = host.Services.GetRequiredService<RedisConnectionProvider>();
        Assert.False(connection.OwnsMultiplexer);
        Assert.Same(multiplexer, await connection.GetAsync().AsTask().WaitAsync(Timeout));

        var transport = host.Services.GetRequiredService<IChatTransport>();
        var room = "di-" + Guid.NewGuid().ToString("N")[..8];
        var received = new EventRecorder();
        await using (await transport.SubscribeAsync(room, received.Handle).AsTask().WaitAsync(Timeout))
        {
            var other = await nodes.ConnectedTransportAsync();
            await other.PublishAsync(EventRecorder.Typing(room, "via-existing")).AsTask().WaitAsync(Timeout);
            await received.ExpectAsync(EventRecorder.Named("via-existing"), "delivery through the app's multiplexer");
        }

        var presence = host.Services.GetRequiredService<IPresenceTracker>();
        Assert.True(await presence.JoinAsync(room, "c1", new OnlineUser(Guid.NewGuid(), "ann")).AsTask().WaitAsync(Timeout));

        await host.StopAsync().WaitAsync(Timeout);
        host.Dispose();

        Assert.True(multiplexer.IsConnected);
        await multiplexer.GetDatabase().PingAsync().WaitAsync(Timeout);
    }

    [Fact]
    public async Task Missing_or_invalid_options_fail_at_start_up()
    {
        await AssertStartFailsAsync(b => b.UseRedisTransport(), "Configuration is required");
        await AssertStartFailsAsync(b => b.UseRedisTransport(o => { o.Configuration = "127.0.0.1:1"; o.KeyPrefix = " "; }), "KeyPrefix");
        await AssertStartFailsAsync(b => b.UseRedisTransport(o => { o.Configuration = "127.0.0.1:1"; o.PresenceTimeout = TimeSpan.Zero; }), "PresenceTimeout");
        await AssertStartFailsAsync(
            b => b.UseRedisTransport(o =>
            {
                o.Configuration = "127.0.0.1:1";
                o.PresenceTimeout = TimeSpan.FromSeconds(5);
                o.PresenceHeartbeatInterval = TimeSpan.FromSeconds(5);
            }),
            "PresenceHeartbeatInterval");
    }

    [Fact]
    public async Task The_password_is_never_logged()
    {
        const string Secret = "Sup3r-S3cret-pw";
        await using var down = RedisServerFixture.CreateUnstarted();
        var logs = new ListLoggerProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddChitChat().UseRedisTransport($"{down.ConnectionString},password={Secret}");
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);
        try
        {
            await Poll.UntilAsync(() => logs.Entries.Any(e => e.Id.Id == 4001), "the connection attempt is logged");
            await Poll.UntilAsync(() => logs.Entries.Any(e => e.Id.Id == 4003 || e.Id.Id == 4002), "the failed connection is logged");
            Assert.Contains(logs.Entries, e => e.Id.Id == 4001 && e.Text.Contains(down.ConnectionString, StringComparison.Ordinal));
            Assert.DoesNotContain(logs.Entries, e => e.Text.Contains(Secret, StringComparison.Ordinal));
        }
        finally
        {
            await host.StopAsync().WaitAsync(Timeout);
        }
    }

    private static async Task AssertStartFailsAsync(Action<ChitChat.IChitChatBuilder> configure, string expected)
    {
        var builder = Host.CreateApplicationBuilder();
        configure(builder.Services.AddChitChat());
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
